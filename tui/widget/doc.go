// Package widget holds the dashboard's building blocks that know nothing of
// plants, tags or alerts: text fitted to a display width, a table with
// columns that share and give up space, a list cursor, sparklines and bar
// charts, the one-line text prompt, the key footer, and helpers that lay
// lines out. Everything renders to plain lines of an exact width; colour
// comes in as a Paint computed once.
package widget
