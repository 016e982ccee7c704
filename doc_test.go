package tickerd_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocProgram builds the complete program in the package doc, as a
// module of its own that requires this one, so what go doc shows compiles.
func TestDocProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	src := program(f.Doc)
	if src == "" {
		t.Fatal("the package doc has no program (a code block from \"package main\" on)")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"main.go": src,
		"go.mod":  "module docprogram\n\ngo 1.26\n\nrequire github.com/tickerd/tickerd v0.0.0\n\nreplace github.com/tickerd/tickerd => " + root + "\n",
		"go.sum":  string(sum),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "vet", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the package doc's program does not build: %v\n%s\n%s", err, out, src)
	}
}

// program returns the code block of doc that starts with "package main",
// its indentation removed.
func program(doc *ast.CommentGroup) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(doc.Text(), "\n") {
		switch {
		case strings.HasPrefix(line, "\tpackage main"):
			in = true
		case in && line != "" && !strings.HasPrefix(line, "\t"):
			return b.String()
		}
		if in {
			b.WriteString(strings.TrimPrefix(line, "\t") + "\n")
		}
	}
	return b.String()
}
