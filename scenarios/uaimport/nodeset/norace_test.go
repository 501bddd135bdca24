//go:build !race

package nodeset_test

const raceEnabled = false
