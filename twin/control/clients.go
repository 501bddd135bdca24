package control

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/otwin/otwin/twin/clientlog"
)

// ClientActivity is the twin's client activity log as the control API
// serves it; *clientlog.Log implements it.
type ClientActivity interface {
	// Clients summarizes every client seen.
	Clients() []clientlog.Client
	// Since returns the entries from cursor since, and the next cursor.
	Since(since int) ([]clientlog.Entry, int)
}

// ClientsResponse is the body of GET /v1/clients.
type ClientsResponse struct {
	Clients []clientlog.Client `json:"clients"`
}

// ActivityResponse is the body of GET /v1/clients/activity.
type ActivityResponse struct {
	// Entries with Seq >= since, oldest first.
	Entries []clientlog.Entry `json:"entries"`
	// Next is the cursor for the next call.
	Next int `json:"next"`
}

// ClientEngine is an Engine that keeps the twin's client activity log: a
// Handler of it also serves GET /v1/clients and GET /v1/clients/activity.
type ClientEngine interface {
	Engine
	// ClientLog is the activity log; nil serves no client endpoints.
	ClientLog() ClientActivity
}

// routeClients adds the client activity endpoints when the engine keeps
// a log (ClientEngine).
func (h *handler) routeClients(mux *http.ServeMux) {
	ce, ok := h.e.(ClientEngine)
	if !ok || ce.ClientLog() == nil {
		return
	}
	wc := struct{ log ClientActivity }{ce.ClientLog()}
	mux.HandleFunc("GET /v1/clients", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, ClientsResponse{Clients: wc.log.Clients()})
	})
	mux.HandleFunc("GET /v1/clients/activity", func(w http.ResponseWriter, r *http.Request) {
		since := 0
		if s := r.URL.Query().Get("since"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("since %q: want a cursor, a number >= 0", s))
				return
			}
			since = n
		}
		entries, next := wc.log.Since(since)
		if entries == nil {
			entries = []clientlog.Entry{}
		}
		writeJSON(w, http.StatusOK, ActivityResponse{Entries: entries, Next: next})
	})
	for _, p := range []string{"/v1/clients", "/v1/clients/activity"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
		})
	}
}

// Clients returns the summary of every client the twin's servers have
// seen (GET /v1/clients).
func (c *Client) Clients(ctx context.Context) ([]clientlog.Client, error) {
	var out ClientsResponse
	err := c.do(ctx, http.MethodGet, "/v1/clients", nil, &out)
	return out.Clients, err
}

// ClientActivity returns the client activity entries from cursor since
// and the cursor for the next call (GET /v1/clients/activity).
func (c *Client) ClientActivity(ctx context.Context, since int) ([]clientlog.Entry, int, error) {
	var out ActivityResponse
	err := c.do(ctx, http.MethodGet, "/v1/clients/activity?since="+url.QueryEscape(strconv.Itoa(since)), nil, &out)
	return out.Entries, out.Next, err
}
