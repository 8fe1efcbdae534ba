//go:build race

package main

// raceEnabled: under the race detector memory and CPU figures are several times the real ones.
const raceEnabled = true
