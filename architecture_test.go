// Package durapay_test holds the tests of the module's shape: which package may depend on
// which, and which package owns each table. The layout they enforce is the README's map.
package durapay_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/durapay/durapay"

// goPackage is what `go list -json` says of a package.
type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Deps       []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel is a package's path in the module ("" for the root).
func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// The direction of imports: frontend-api -> schemas <- workflows -> activities -> schemas;
// workers wires everything; plumbing (internal/platform) never imports the domain; schemas
// imports nothing of Durapay's; devstack is never linked into a production binary.
func TestLayering(t *testing.T) {
	for _, p := range listPackages(t) {
		path := rel(p.ImportPath)
		var deps []string
		for _, d := range p.Deps {
			if strings.HasPrefix(d, module+"/") {
				deps = append(deps, rel(d))
			}
		}
		forbid := func(why string, bad func(dep string) bool) {
			for _, d := range deps {
				if bad(d) {
					t.Errorf("%s depends on %s: %s", path, d, why)
				}
			}
		}
		switch {
		case under(path, "frontend-api"), under(path, "notifier"), under(path, "durapay-ctl"):
			forbid("only workers and workflows reach the activities and workflows", func(d string) bool {
				return under(d, "activities") || under(d, "workflows")
			})
		case under(path, "internal/platform"):
			forbid("plumbing never imports the domain, the contracts or the processes", func(d string) bool {
				return !under(d, "internal/platform") && d != "migrations"
			})
		case under(path, "schemas"):
			forbid("the contracts import nothing of Durapay's", func(d string) bool { return !under(d, "schemas") })
		case under(path, "internal/domain") && !strings.HasSuffix(path, "test"):
			forbid("the domain is used by the processes, never the other way", func(d string) bool {
				return !under(d, "internal") && !under(d, "schemas") && d != "migrations"
			})
		}
		if slices.Contains([]string{"frontend-api", "workers", "notifier", "durapay-ctl"}, path) {
			forbid("development doubles are never linked into Durapay's binaries", func(d string) bool {
				return under(d, "devstack") || strings.HasSuffix(d, "test")
			})
		}
	}
}

// sqlTable finds, in a string literal, a table that a statement reads or writes: one
// submatch per form of statement.
var sqlTable = regexp.MustCompile(`(?is)\bselect\b.+?\bfrom\s+(\w+)|\binsert\s+into\s+(\w+)|\bupdate\s+(\w+)(?:\s+as\s+\w+)?\s+set\b|` +
	`\bdelete\s+from\s+(\w+)|\btruncate\s+(?:table\s+)?(\w+)|\bjoin\s+(\w+)`)

// One owner per table: every table of the migrations is read and written by exactly one
// package of internal/domain (a store with typed methods); handlers, activities, workflows
// and the notifier call stores, never SQL. A store's test kit (a package named *test beside
// it) counts as the store.
func TestOneOwnerPerTable(t *testing.T) {
	tables := migrationTables(t)
	owners := map[string][]string{}
	for _, p := range listPackages(t) {
		path := rel(p.ImportPath)
		owner := strings.TrimSuffix(path, "test")
		if base := filepath.Base(path); strings.HasSuffix(base, "test") && base != "test" {
			owner = filepath.Dir(path) // internal/domain/audit/audittest -> internal/domain/audit
		}
		for _, f := range p.GoFiles {
			for _, table := range tablesUsed(t, filepath.Join(p.Dir, f), tables) {
				if !slices.Contains(owners[table], owner) {
					owners[table] = append(owners[table], owner)
				}
				if !under(owner, "internal/domain") && owner != "internal/platform/pg" {
					t.Errorf("%s (%s) writes SQL on %s: only the table's store may", path, f, table)
				}
			}
		}
	}
	for _, table := range sortedKeys(tables) {
		switch o := owners[table]; {
		case len(o) == 0:
			t.Errorf("table %s has no store", table)
		case len(o) > 1:
			sort.Strings(o)
			t.Errorf("table %s has %d owners: %s; one store must own it", table, len(o), strings.Join(o, ", "))
		}
	}
}

// migrationTables lists the tables the migrations create and do not drop.
func migrationTables(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	sort.Strings(files)
	tables := map[string]bool{}
	create := regexp.MustCompile(`(?i)CREATE TABLE (\w+)`)
	drop := regexp.MustCompile(`(?i)DROP TABLE (\w+)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(b), "-- +goose Down")
		for _, m := range create.FindAllStringSubmatch(up, -1) {
			tables[m[1]] = true
		}
		for _, m := range drop.FindAllStringSubmatch(up, -1) {
			delete(tables, m[1])
		}
	}
	return tables
}

// tablesUsed lists the tables that SQL in the file's string literals names.
func tablesUsed(t *testing.T, file string, tables map[string]bool) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var used []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		for _, m := range sqlTable.FindAllStringSubmatch(s, -1) {
			for _, name := range m[1:] {
				if name = strings.ToLower(name); tables[name] && !slices.Contains(used, name) {
					used = append(used, name)
				}
			}
		}
		return true
	})
	return used
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The README's map ("Find your way around") names every package, and nothing that is gone.
func TestREADMEMapNamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "## Find your way around")
	if start < 0 {
		t.Fatal("README.md has no \"Find your way around\" section")
	}
	section := text[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(section, -1) {
		named[strings.TrimSuffix(m[1], "/")] = true
	}
	for _, p := range listPackages(t) {
		if path := rel(p.ImportPath); path != "" && !named[path] {
			t.Errorf("README's map does not name %s", path)
		}
	}
	for path := range named {
		if _, err := os.Stat(path); err != nil && path != "bin" { // bin/ is built, not committed
			t.Errorf("README's map names %s, which does not exist", path)
		}
	}
}
