package main

import "testing"

// TestCompareRowsEachRatio: a first K whose net CPU per message is
// unknown (its feed measured busier alone than with clients) still
// compares the rows' gross CPU; the net ratios are left out.
func TestCompareRowsEachRatio(t *testing.T) {
	run := func(k int, per, net float64) *report {
		r := &report{}
		r.Settings.K = k
		r.Server.CPUPerMessageUS, r.Server.CPUPerMessageNetUS = per, net
		return r
	}
	rows := compareRows([]int{1, 3}, []*report{run(1, 50, 0), run(3, 60, 40)})
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	if rows[0].VsFirst != 1 || rows[1].VsFirst != 1.2 {
		t.Errorf("vs first %v, %v; want 1 and 1.2", rows[0].VsFirst, rows[1].VsFirst)
	}
	if rows[0].VsFirstNet != 0 || rows[1].VsFirstNet != 0 {
		t.Errorf("vs first net %v, %v; want none without the first's net figure", rows[0].VsFirstNet, rows[1].VsFirstNet)
	}
	rows = compareRows([]int{1, 3}, []*report{run(1, 50, 40), run(3, 60, 50)})
	if rows[1].VsFirst != 1.2 || rows[1].VsFirstNet != 1.25 {
		t.Errorf("vs first %v, net %v; want 1.2 and 1.25", rows[1].VsFirst, rows[1].VsFirstNet)
	}
}
