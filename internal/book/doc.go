// Package book keeps the server's L2 order books and the views clients
// subscribe to, and mirrors a view on the client side.
//
// A Book holds one symbol's levels in fixed point (protocol.Level), bids
// best (highest) first and asks best (lowest) first. The publisher applies
// each feed update and, for the depths that have subscribers, encodes the
// delta once; shard goroutines take the snapshot a new or lagging
// subscriber starts from:
//
//	b := book.New("BTC-USD", book.Config{})
//
//	// publisher goroutine, for each feed update u:
//	if err := b.Apply(u, wanted); err != nil { … count, log … }
//	for d := range book.NumDepths {
//		if !wanted.Has(d) { continue }
//		if buf, delta, ok := b.AppendDelta(buf[:0], d); ok {
//			… put buf (delta.PrevSeq → delta.Seq) in depth d's delta ring …
//		}
//	}
//
//	// any shard goroutine, for a subscriber of depth d that needs a snapshot:
//	frame, seq, ok := b.Snapshot(d) // cached; then send deltas with PrevSeq seq
//
// Apply and AppendDelta belong to one goroutine, the publisher. Snapshot,
// State, Best, AppendTop and Symbol may be called from any goroutine at
// any time. Add a depth to want before its first subscriber takes a
// snapshot: the snapshot of a depth that is not wanted is at the book's
// seq, and the next update not worked out for it moves that on, so the
// subscriber's first delta would not apply and it would need another
// snapshot.
//
// A client keeps a view with a Mirror, from messages read by
// protocol.DecodeBook; it verifies every checksum.
//
// # Views and versions
//
// A depth's view is the top 10, 50 or 200 levels of each side. Its version
// is the seq of the last update that changed it, so a delta's prev_seq
// names the version it applies to and an update below the top 10 sends no
// depth-10 message at all. A delta carries the levels changed within the
// top N, the levels that enter the top N when others leave (with their
// sizes) and those that leave it (size 0): a client holding exactly the
// top N at prev_seq holds exactly the server's top N after applying it. A
// feed snapshot makes every wanted depth's message a snapshot. A depth
// left out of Apply's want is not worked out; its version is then the
// book's seq, and when it is wanted again its first delta applies to the
// seq before that update.
//
// # Speed
//
// Each side is one sorted array with the best level last, so a change at
// rank r moves r levels (none for a size change) and a change near the
// touch costs a few compares; see BenchmarkApply. Apply allocates nothing
// once the arrays have grown. A wanted depth costs a walk over the update's
// changes plus the levels that cross its boundary, not a pass over the
// view, and the encoding of its delta; the checksum is worked out again
// only when the top 10 levels change.
//
// # Memory
//
// A book takes a fixed 640 bytes (the Book struct, in its allocator size
// class) plus LevelBytes (16) per level of array capacity. A snapshot of
// n levels sizes a side to 1.25n, inserts past that double it, never past
// Config.MaxSideBytes (default 1 MiB, 65,536 levels), and it shrinks only
// at a snapshot that needs less than a quarter of it: about 20 bytes a
// level after a snapshot, up to 32 at the most levels a side has held. Serving views adds the
// cached snapshot messages (about 40 bytes a level of the view) and the
// delta buffers (at most 2N levels a side): 22 KB for all three depths of
// a deep book. The change log of an update over 4,096 levels is let go. A book of
// 1,000 levels a side takes 42 KB. TestMemoryPerBook measures these
// figures and fails if they grow.
//
// # Bounds
//
// When an insert finds a side at its bound, the side drops its worst
// eighth and from then on holds exactly the feed's levels better than the
// best one dropped, ignoring changes beyond it, until the next snapshot;
// Apply reports ErrLevelBound. Should a side that dropped levels shrink
// below 200 levels the book becomes invalid, since the deepest view could
// no longer be served exactly.
package book
