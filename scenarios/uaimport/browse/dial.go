package browse

import (
	"context"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/uaapp"
)

// applicationURI is the import's OPC UA application URI (in its
// certificate, too).
const applicationURI = "urn:otwin:scenario-import"

// dial connects with the endpoint that matches the security settings;
// without a certificate file a secure channel uses a certificate made
// for this run and kept in memory.
func dial(ctx context.Context, cfg Config) (*opcua.Client, error) {
	c := uaapp.Client{
		URL: cfg.URL, Timeout: cfg.Timeout,
		SecurityPolicy: cfg.SecurityPolicy, SecurityMode: cfg.SecurityMode,
		Username: cfg.Username, Password: cfg.Password,
		AppName: "otwin scenario import", AppURI: applicationURI, SessionName: "otwin scenario import",
		CertFile: cfg.Certificate, KeyFile: cfg.Key,
	}
	if ua.MessageSecurityModeFromString(cfg.SecurityMode) != ua.MessageSecurityModeNone && cfg.Certificate == "" {
		der, key, err := uaapp.Certificate{CommonName: "otwin scenario import", AppURI: applicationURI, Valid: 24 * time.Hour}.New()
		if err != nil {
			return nil, err
		}
		c.Cert, c.Key = der, key
	}
	return c.Dial(ctx)
}
