//go:build !race

package openai_test

// raceEnabled: the race detector is on, and a heap measured under it is
// larger than a production one.
const raceEnabled = false
