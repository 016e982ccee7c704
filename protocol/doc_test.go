package protocol

import (
	"encoding/json"
	"go/parser"
	gotoken "go/token"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestDocExamples checks the example messages of the package doc: each is
// valid JSON; each request decodes; each server message this package
// decodes decodes, and encodes back to the same bytes; and the limits
// example has exactly the fields AppendLimits writes.
func TestDocExamples(t *testing.T) {
	f, err := parser.ParseFile(gotoken.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for line := range strings.Lines(f.Doc.Text()) {
		msg, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "\t{")
		if !ok {
			continue
		}
		msg = "{" + msg
		n++
		if !json.Valid([]byte(msg)) {
			t.Errorf("doc example is not valid JSON: %s", msg)
			continue
		}
		var head struct{ Op, Type string }
		json.Unmarshal([]byte(msg), &head)
		if err := checkDocExample(head.Op, head.Type, []byte(msg)); err != "" {
			t.Errorf("doc example %s: %s", msg, err)
		}
	}
	if n < 30 {
		t.Errorf("found %d example messages in the package doc, want at least 30", n)
	}
}

// checkDocExample checks one example message whose op or type is given;
// it returns what is wrong.
func checkDocExample(op, typ string, msg []byte) string {
	var enc []byte
	switch {
	case op != "":
		if _, err := DecodeRequest(msg, Limits{}); err != nil {
			return err.Error()
		}
		return ""
	case typ == "tick" || typ == "snapshot":
		tk, _, err := DecodeTick(msg)
		if err != nil {
			return err.Error()
		}
		enc = AppendTick(nil, &tk)
		if typ == "snapshot" {
			enc = SnapshotFromTick(nil, enc)
		}
	case typ == "trade":
		tr, replay, err := DecodeTrade(msg)
		if err != nil {
			return err.Error()
		}
		if enc = AppendTrade(nil, &tr); replay {
			enc = ReplayFromTrade(nil, enc)
		}
	case typ == "limits":
		var doc, ours map[string]any
		json.Unmarshal(msg, &doc)
		json.Unmarshal(AppendLimits(nil, &ServerLimits{}), &ours)
		if !slices.Equal(slices.Sorted(maps.Keys(doc)), slices.Sorted(maps.Keys(ours))) {
			return "fields differ from AppendLimits': " + string(AppendLimits(nil, &ServerLimits{}))
		}
		return ""
	case typ == "authenticated":
		return "" // valid JSON is all there is to check
	default:
		e, err := DecodeEvent(msg)
		if strings.Contains(errString(err), "is not one DecodeEvent reads") {
			return "" // another package's message (candles, books)
		}
		if err != nil {
			return err.Error()
		}
		enc = appendEvent(nil, &e)
	}
	if string(enc) != string(msg) {
		return "encodes as " + string(enc)
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
