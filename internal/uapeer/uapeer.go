// Package uapeer connects gopcua clients, the third-party OPC UA client
// the tests subscribe with, so that their subscriptions deliver.
//
// gopcua v0.8.0 drives its Publish requests with one loop that starts
// paused: NewClient queues a pause and Connect starts the loop, and
// Subscribe queues a resume. When the loop's goroutine first runs after
// Subscribe (on a loaded machine: 2 runs in about 700 of two subscribing
// tests under -race on 2 busy cores), it finds both queued, may take the
// resume first
// (ignored: "not paused") and then the pause, and never sends a Publish
// request: the subscription is created and stays silent, with no error
// (upstream gopcua/opcua#895 describes the same swallowed resume after a
// reconnect). Connect waits until the loop has taken its first pause, so
// the resume of the first Subscribe is the one that starts it.
package uapeer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/gopcua/opcua"
)

// Connect creates a gopcua client for url with opts, connects it and
// waits until its publish loop is ready for a subscription.
func Connect(ctx context.Context, url string, opts ...opcua.Option) (*opcua.Client, error) {
	c, err := opcua.NewClient(url, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	if err := publishLoopReady(ctx, c); err != nil {
		c.Close(context.Background())
		return nil, err
	}
	return c, nil
}

// publishLoopReady waits until c's publish loop has taken the pause
// NewClient queued.
func publishLoopReady(ctx context.Context, c *opcua.Client) error {
	f := reflect.ValueOf(c).Elem().FieldByName("pausech")
	if !f.IsValid() || f.Kind() != reflect.Chan {
		return errors.New("uapeer: gopcua's Client has no pausech channel any more: see whether its publish loop still starts paused, and change or drop this package")
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for f.Len() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("uapeer: gopcua's publish loop did not start: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
