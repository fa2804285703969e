package layout

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// references returns, for each ordered pair of files of the package in
// dir, the names one uses that the other declares: package-level names,
// fields and methods (not locals).
func references(t *testing.T, dir string) map[[2]string][]string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		require.NoError(t, err)
		files = append(files, f)
	}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check("core", fset, files, info)
	require.NoError(t, err)
	seen := map[[2]string]map[string]bool{}
	for id, obj := range info.Uses {
		if obj == nil || obj.Pkg() != pkg || !obj.Pos().IsValid() {
			continue
		}
		if v, ok := obj.(*types.Var); ok && !v.IsField() && v.Parent() != pkg.Scope() {
			continue // a local variable or parameter
		}
		from := filepath.Base(fset.Position(id.Pos()).Filename)
		to := filepath.Base(fset.Position(obj.Pos()).Filename)
		if from == to {
			continue
		}
		k := [2]string{from, to}
		if seen[k] == nil {
			seen[k] = map[string]bool{}
		}
		seen[k][obj.Name()] = true
	}
	out := make(map[[2]string][]string, len(seen))
	for k, names := range seen {
		for n := range names {
			out[k] = append(out[k], n)
		}
		sort.Strings(out[k])
	}
	return out
}

// TestCoreFilesReferOneWay fails when two files of the core refer to each
// other both ways: a request's walk (docs/design.md) then no longer goes
// one way through the files.
func TestCoreFilesReferOneWay(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the core and its imports from source")
	}
	refs := references(t, "../../middleware/realtimesecret")
	require.NotEmpty(t, refs)
	var twoWay []string
	for k, names := range refs {
		if back, ok := refs[[2]string{k[1], k[0]}]; ok && k[0] < k[1] {
			twoWay = append(twoWay, k[0]+" uses "+strings.Join(names, ", ")+" of "+k[1]+", which uses "+strings.Join(back, ", "))
		}
	}
	sort.Strings(twoWay)
	require.Empty(t, twoWay, "files of the core that refer to each other both ways")
}
