package main

import "strconv"

// split divides n items over parts as evenly as possible: the first n%parts
// parts get one more. It returns nil for parts < 1.
func split(n, parts int) []int {
	if parts < 1 {
		return nil
	}
	out := make([]int, parts)
	for i := range out {
		out[i] = n / parts
		if i < n%parts {
			out[i]++
		}
	}
	return out
}

// workerCount returns how many worker processes hold conns connections when
// one process may hold at most perWorker, and at least min processes.
func workerCount(conns, perWorker, min int) int {
	if perWorker < 1 {
		perWorker = 1
	}
	n := (conns + perWorker - 1) / perWorker
	return max(n, min, 1)
}

// srcIPs returns n source addresses 127.0.0.2, 127.0.0.3, ... (at most 250).
func srcIPs(n int) []string {
	n = min(max(n, 0), 250)
	out := make([]string, n)
	for i := range out {
		out[i] = "127.0.0." + strconv.Itoa(2+i)
	}
	return out
}
