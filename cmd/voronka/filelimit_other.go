//go:build !unix

package main

func openFilesLimit() uint64 { return 0 }
