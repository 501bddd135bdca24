package main

import (
	"os"
	"path/filepath"
)

// defaultDataDir is where otwin keeps what it generates once and reuses:
// OPC UA certificates, SSH host keys. $OTWIN_DATA_DIR wins, then
// $XDG_DATA_HOME/otwin, then ~/.local/share/otwin.
func defaultDataDir() string {
	if d := os.Getenv("OTWIN_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "otwin")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "otwin")
	}
	return filepath.Join(os.TempDir(), "otwin")
}
