package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/web"
)

func TestHandlerServesFiles(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()

	tests := []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/app.js">`},
		{"/index.html", "text/html; charset=utf-8", "<title>tickerd"},
		{"/tickerd.js", "text/javascript; charset=utf-8", "export class TickerClient"},
		{"/tickerd.d.ts", "text/plain; charset=utf-8", "export class TickerClient"},
		{"/app.js", "text/javascript; charset=utf-8", `from "./tickerd.js"`},
		{"/chart.js", "text/javascript; charset=utf-8", "export class Chart"},
		{"/format.js", "text/javascript; charset=utf-8", "export function decSub"},
		{"/style.css", "text/css; charset=utf-8", ":root"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", tt.path, res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("GET %s Content-Type = %q, want %q", tt.path, got, tt.ctype)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("GET %s Cache-Control = %q, want %q", tt.path, got, "no-cache")
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("GET %s X-Content-Type-Options = %q, want nosniff", tt.path, got)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("GET %s body does not contain %q", tt.path, tt.contains)
			}

			// The ETag turns a reload of an unchanged file into a 304.
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Fatalf("GET %s has no ETag", tt.path)
			}
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			req.Header.Set("If-None-Match", etag)
			res2, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res2.Body.Close()
			if res2.StatusCode != http.StatusNotModified {
				t.Errorf("GET %s If-None-Match %s = %d, want 304", tt.path, etag, res2.StatusCode)
			}
		})
	}
}

func TestHandlerRejects(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()

	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/nope.js", http.StatusNotFound},
		{http.MethodGet, "/static/app.js", http.StatusNotFound},
		{http.MethodGet, "/../web.go", http.StatusNotFound},
		{http.MethodGet, "/web.go", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/app.js", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, res.StatusCode, tt.want)
			}
		})
	}
}

func TestHandlerHead(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	res, err := http.Head(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(body) != 0 || res.ContentLength <= 0 {
		t.Errorf("HEAD / = %d, body %d bytes, Content-Length %d; want 200, 0 bytes, > 0", res.StatusCode, len(body), res.ContentLength)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' ws: wss:") {
		t.Errorf("HEAD / Content-Security-Policy = %q, want WebSocket connects allowed", csp)
	}
}
