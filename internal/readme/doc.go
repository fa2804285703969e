// Package readme holds every Go snippet of the repository's README.md, so
// that they compile: the two quick starts are the programs in chi/ and
// servemux/, the other snippets are Example functions in
// snippets_test.go. TestREADMESnippets fails when a README snippet is not
// found verbatim in one of them, or when they do not build.
package readme
