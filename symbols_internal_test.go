package tickerd

import (
	"slices"
	"testing"
)

// TestEachObject: the objects of an array, whole, whatever their strings
// and nested objects hold.
func TestEachObject(t *testing.T) {
	for _, tt := range []struct {
		arr  string
		want []string
	}{
		{`[]`, nil},
		{`[{}]`, []string{`{}`}},
		{`[{"symbol":"A}\"{,"},{"a":{"b":"}"}},{"c":"\\"}]`, []string{`{"symbol":"A}\"{,"}`, `{"a":{"b":"}"}}`, `{"c":"\\"}`}},
		{`[{"type":"snapshot","symbol":"EUR/USD"}, {"x":[1,{"y":2}]}]`, []string{`{"type":"snapshot","symbol":"EUR/USD"}`, `{"x":[1,{"y":2}]}`}},
	} {
		var got []string
		eachObject([]byte(tt.arr), func(start, end int) { got = append(got, tt.arr[start:end]) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("eachObject(%s) = %q, want %q", tt.arr, got, tt.want)
		}
	}
}
