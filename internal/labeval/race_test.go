//go:build race

package labeval

const raceEnabled = true
