// Package web is tickerd's browser dashboard and its JavaScript client,
// embedded in the binary. There is no build step: the files under static/
// are served exactly as they are in the repository.
//
// Mount the handler at "/" next to the server's own endpoints:
//
//	mux := http.NewServeMux()
//	mux.Handle("/ws", hubHandler)
//	mux.Handle("/", web.Handler())
//
// The handler serves index.html at "/" and every other embedded file at its
// own path ("/tickerd.js", "/app.js", ...). It answers GET and HEAD only, sets
// an exact Content-Type (text/javascript for the ES modules) and a strong
// ETag, and asks browsers to revalidate each file with "Cache-Control:
// no-cache", so an upgraded binary is picked up at the next load while an
// unchanged file costs a 304. Anything else is a 404.
//
// static/tickerd.js is a dependency-free ES module that speaks protocol v1;
// it runs in browsers and in Node 20 with the ws package (see its header).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// contentTypes maps the extensions we ship to their exact media types. The
// table is ours, not the system's mime.types, so a module script is served as
// text/javascript on every host, which browsers require for type="module".
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".ts":   "text/plain; charset=utf-8", // tickerd.d.ts, the client's types
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// csp lets the page load only its own files and open WebSockets; the
// dashboard has no inline script or style.
const csp = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
	"style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type file struct {
	body  []byte
	ctype string
	etag  string
}

// Handler returns the handler for the embedded dashboard. It is safe for
// concurrent use and cheap to call; every call shares the same file table.
func Handler() http.Handler {
	return handler
}

var handler = mustLoad()

type fileServer map[string]file

// mustLoad reads the embedded tree once. Only a broken build (a file of an
// unknown type committed to static/) can make it fail, so it panics at init
// the way regexp.MustCompile does.
func mustLoad() fileServer {
	files, err := load(static)
	if err != nil {
		panic(err)
	}
	return files
}

func load(fsys fs.FS) (fileServer, error) {
	files := fileServer{}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ctype, ok := contentTypes[path.Ext(p)]
		if !ok {
			return &fs.PathError{Op: "web: load", Path: p, Err: fs.ErrInvalid}
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "static")
		files[name] = file{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := files["/index.html"]; !ok {
		return nil, &fs.PathError{Op: "web: load", Path: "static/index.html", Err: fs.ErrNotExist}
	}
	files["/"] = files["/index.html"]
	return files, nil
}

func (s fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := s[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if f.ctype == contentTypes[".html"] {
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
	}
	// ServeContent answers If-None-Match with 304, Range requests and HEAD.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
