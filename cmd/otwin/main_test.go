package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/otwin/otwin/connectors/isolate"
)

// TestMain runs the test binary as otwin's connector child when a
// collector under test starts one (isolated connectors start this
// program with isolate.ChildArg), through the same command as otwin; and
// as otwin itself when asOtwin is set (the tests that run scripts of otwin
// commands, see examples_test.go).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == isolate.ChildArg {
		os.Exit(run(context.Background(), os.Args[1:]))
	}
	if os.Getenv(asOtwin) == "1" {
		main()
	}
	// A race-enabled child waits a second at exit by default.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Exit(m.Run())
}
