// Package layout holds a test of the core's file layout: the walk of a
// request goes one way through the files of middleware/realtimesecret, so
// no two of its files refer to each other both ways.
package layout
