//go:build race

package nodeset_test

const raceEnabled = true
