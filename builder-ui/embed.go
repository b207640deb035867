// Package builderui embeds the built builder (the React app in this folder)
// into the Go binary, so one binary serves everything. `make ui` builds it
// into dist/; without a build, FS serves a page that says so, and the Go
// code still compiles on a clean clone.
package builderui

import (
	"embed"
	"io/fs"
	"testing/fstest"
)

//go:embed all:dist
var dist embed.FS

const notBuilt = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Voronka builder</title>
<body style="font-family:sans-serif;margin:3em"><h1>The builder is not built</h1>
<p>Run <code>make ui</code> (or <code>make run</code>) and restart <code>voronka serve</code>.</p>
<p>Конструктор не собран: выполните <code>make ui</code>.</p></body></html>
`

// FS returns the built builder, rooted at its index.html.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err == nil {
		if _, err := fs.Stat(sub, "index.html"); err == nil {
			return sub
		}
	}
	return fstest.MapFS{"index.html": &fstest.MapFile{Data: []byte(notBuilt)}}
}

// Built reports whether FS holds a real build.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}
