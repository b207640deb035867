package engine

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEventCatalogListsEveryEmittedType reads the module's source (not the
// tests) and finds every event type someone stores: the Ev… constants,
// literals and constants passed as the type to a function whose parameter
// is named typ (the runtime's event and deliveryEvent, and whatever others
// add), and Type fields of store.Event literals. Each must be in
// EventCatalog, so an analytics reader never meets an unknown type.
func TestEventCatalogListsEveryEmittedType(t *testing.T) {
	fset := token.NewFileSet()
	var files []*ast.File
	dirOf := map[*ast.File]string{}
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "testdata", "mongotest", ".git", "dist":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		dirOf[f] = filepath.Dir(path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("found only %d source files under %s", len(files), root)
	}

	// String constants by name, and the Ev… and Receipt… ones to check.
	consts := map[string]string{}
	var typeConsts []string
	// Functions returning an Event with a parameter named typ: dir.name -> its index.
	typParam := map[string]int{}
	for _, f := range files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i >= len(vs.Values) {
							continue
						}
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue
						}
						v, _ := strconv.Unquote(lit.Value)
						consts[name.Name] = v
						if isEventConstName(name.Name) {
							typeConsts = append(typeConsts, name.Name)
						}
					}
				}
			case *ast.FuncDecl:
				if d.Type.Results == nil || !slices.ContainsFunc(d.Type.Results.List, func(r *ast.Field) bool { return isEventType(r.Type) }) {
					continue
				}
				i := 0
				for _, field := range d.Type.Params.List {
					for _, n := range field.Names {
						if n.Name == "typ" {
							typParam[dirOf[f]+"."+d.Name.Name] = i
						}
						i++
					}
					if len(field.Names) == 0 {
						i++
					}
				}
			}
		}
	}
	if _, ok := typParam[filepath.Join("..", "engine", "runtime")+".deliveryEvent"]; !ok {
		t.Fatal("the runtime's deliveryEvent(…, typ, …) was not found: the scan no longer sees the runtime")
	}

	emitted := map[string]string{} // type -> where
	resolve := func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING {
				v, _ := strconv.Unquote(x.Value)
				return v, true
			}
		case *ast.Ident:
			v, ok := consts[x.Name]
			return v, ok
		case *ast.SelectorExpr:
			v, ok := consts[x.Sel.Name]
			return v, ok
		}
		return "", false
	}
	for _, name := range typeConsts {
		emitted[consts[name]] = "const " + name
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				var name string
				switch fn := x.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if i, ok := typParam[dirOf[f]+"."+name]; ok && i < len(x.Args) {
					if v, ok := resolve(x.Args[i]); ok {
						emitted[v] = fset.Position(x.Pos()).String()
					}
				}
			case *ast.CompositeLit:
				if !isEventType(x.Type) {
					return true
				}
				for _, el := range x.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Type" {
						if v, ok := resolve(kv.Value); ok {
							emitted[v] = fset.Position(x.Pos()).String()
						}
					}
				}
			}
			return true
		})
	}
	for _, must := range []string{EvGoal, EvNodeEntered, "sent", "failed", "blocked", "unblocked", EvMessageIn} {
		if _, ok := emitted[must]; !ok {
			t.Errorf("the scan did not find %q emitted anywhere: it misses an emitter", must)
		}
	}
	for typ, where := range emitted {
		if _, ok := LookupEvent(typ); !ok {
			t.Errorf("event type %q (%s) is not in EventCatalog (engine/events.go)", typ, where)
		}
	}
}

func isEventConstName(name string) bool {
	for _, p := range []string{"Ev", "Receipt"} {
		if strings.HasPrefix(name, p) && len(name) > len(p) && name[len(p)] >= 'A' && name[len(p)] <= 'Z' {
			return true
		}
	}
	return false
}

func isEventType(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		return x.Sel.Name == "Event"
	case *ast.Ident:
		return x.Name == "Event"
	}
	return false
}

func TestEventCatalogIsSortedAndDocumented(t *testing.T) {
	if !slices.IsSortedFunc(EventCatalog, func(a, b EventSpec) int { return strings.Compare(a.Type, b.Type) }) {
		t.Fatal("EventCatalog is not sorted")
	}
	for i, s := range EventCatalog {
		if i > 0 && EventCatalog[i-1].Type == s.Type {
			t.Errorf("%s listed twice", s.Type)
		}
		if s.Doc == "" || s.By == "" {
			t.Errorf("%s has no doc or emitter", s.Type)
		}
		for _, k := range s.Data {
			if k.Key == "" || k.Doc == "" {
				t.Errorf("%s has an undocumented data key %+v", s.Type, k)
			}
		}
		if got, ok := LookupEvent(s.Type); !ok || got.Type != s.Type {
			t.Errorf("LookupEvent(%q) = %v, %v", s.Type, got, ok)
		}
	}
	if _, ok := LookupEvent("no_such_event"); ok {
		t.Error("LookupEvent found an unknown type")
	}
}
