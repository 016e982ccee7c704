package protocol

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"
)

// The seed corpora are in testdata/fuzz/<FuzzName>/.

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"op":"subscribe","symbols":["AAPL","BTC-USD"],"id":1}`))
	lim := Limits{MaxSymbols: 8, MaxSymbolLen: 8} // small, so the fuzzer reaches them
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data, lim)
		if err != nil {
			if err.ID != nil && (!json.Valid(err.ID) || !bytes.Contains(data, err.ID)) {
				t.Fatalf("DecodeRequest(%q) error echoes id %q", data, err.ID)
			}
			if reply := AppendError(nil, err.ID, err.Code, err.Message, err.Symbols); !json.Valid(reply) {
				t.Fatalf("error reply to %q is not valid JSON: %s", data, reply)
			}
			return
		}
		if !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("DecodeRequest(%q) accepts invalid JSON: %+v", data, req)
		}

		// encoding/json must read the same values.
		var ref struct {
			Op      string
			ID      json.RawMessage
			Symbols []string
			Token   string
		}
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatalf("DecodeRequest(%q) accepts what encoding/json rejects: %v", data, err)
		}
		var refSyms []string
		for _, s := range ref.Symbols {
			if !slices.Contains(refSyms, s) {
				refSyms = append(refSyms, s)
			}
		}
		if ref.Op != req.Op.String() || !bytes.Equal(ref.ID, req.ID) || !slices.Equal(refSyms, req.Symbols) || ref.Token != req.Token {
			t.Fatalf("DecodeRequest(%q) = %+v, encoding/json reads %+v", data, req, ref)
		}

		// The canonical form decodes to the same request. It may be longer
		// than the input (U+2028 is escaped), so the size limit is lifted.
		enc := AppendRequest(nil, &req)
		lim2 := lim
		lim2.MaxBytes = 1 << 20
		req2, err := DecodeRequest(enc, lim2)
		if err != nil || !sameRequest(req, req2) {
			t.Fatalf("DecodeRequest(%q) = %+v; canonical %s decodes to %+v, %v", data, req, enc, req2, err)
		}
		for _, reply := range [][]byte{
			AppendSubscribed(nil, req.ID, req.Symbols),
			AppendPong(nil, req.ID, 1),
		} {
			if !json.Valid(reply) {
				t.Fatalf("reply to %q is not valid JSON: %s", data, reply)
			}
		}
	})
}

func FuzzDecodeTick(f *testing.F) {
	f.Add([]byte(aaplJSON))
	f.Fuzz(func(t *testing.T, data []byte) {
		styp, ssym, sseq, sts, sok := ScanTick(data)
		tk, typ, err := DecodeTick(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("DecodeTick(%q) accepts invalid JSON", data)
		}
		if sok && (string(styp) != typ || sseq != tk.Seq || sts != tk.TS) {
			t.Fatalf("ScanTick(%q) = %q, %q, %d, %d; DecodeTick gives %q, %+v", data, styp, ssym, sseq, sts, typ, tk)
		}
		appendMsg := AppendTick
		if typ == "snapshot" {
			appendMsg = AppendSnapshot
		}
		enc := appendMsg(nil, &tk)
		tk2, typ2, err := DecodeTick(enc)
		if err != nil || typ2 != typ || !sameTick(tk, tk2) {
			t.Fatalf("DecodeTick(%q) = %+v; re-encoded %s decodes to %+v, %q, %v", data, tk, enc, tk2, typ2, err)
		}
		if enc2 := appendMsg(nil, &tk2); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip of %q changed the bytes:\n%s\n%s", data, enc, enc2)
		}
		if styp, _, sseq, sts, sok := ScanTick(enc); !sok || string(styp) != typ || sseq != tk.Seq || sts != tk.TS {
			t.Fatalf("ScanTick(%s) = %q, %d, %d, %v", enc, styp, sseq, sts, sok)
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "AAPL", "a\"b\\c", "\x00\n\u2028", "\xff\xed\xa0\x80", "é🙂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		ref, _ := json.Marshal(s)
		var got, want string
		if err := json.Unmarshal(out, &got); err != nil || !json.Valid(out) {
			t.Fatalf("AppendString(%q) = %s: %v", s, out, err)
		}
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("AppendString(%q) reads back as %q, encoding/json as %q", s, got, want)
		}
		// Our own decoder reads it back too.
		msg := append(append([]byte(`{"op":"auth","token":`), out...), '}')
		req, err := DecodeRequest(msg, Limits{MaxBytes: 1 << 20})
		if want != "" && (err != nil || req.Token != want) {
			t.Fatalf("DecodeRequest(%s) = %q, %v; want token %q", msg, req.Token, err, want)
		}
	})
}
