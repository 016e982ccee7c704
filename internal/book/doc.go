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
// Views, State, Best, AppendTop and Symbol may be called from any
// goroutine at any time. A subscriber that takes a snapshot between two
// updates gets, from the next Apply that wants its depth, the delta from
// that snapshot: add a depth to want before the first Apply after its
// first subscriber's snapshot.
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
// feed snapshot makes every wanted depth's message a snapshot.
//
// Versions are kept for every depth, wanted or not, so they depend only
// on the updates applied: two books fed the same updates give the same
// messages whichever depths each one's subscribers want. A node that
// hands its book to another stores a snapshot with Views (the versions)
// in BookUpdate.Views; the book that loads it takes those versions, and a
// depth whose version it had already keeps its view without a message.
//
// # Speed
//
// Each side is one sorted array with the best level last, so a change at
// rank r moves r levels (none for a size change) and a change near the
// touch costs a few compares; see BenchmarkApply. Apply allocates nothing
// once the arrays have grown. Keeping every depth's version costs each
// update a sort of its few changes and one search per side. A wanted
// depth costs a walk over the update's changes plus the levels that cross
// its boundary, not a pass over the view, and the encoding of its delta;
// the checksum is worked out again only when the top 10 levels change.
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
