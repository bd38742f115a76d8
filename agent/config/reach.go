package config

import (
	"cmp"
	"context"
	"net"
	"time"
)

// reachTimeout bounds the connection attempt of CheckRuntimeAPI: on
// loopback a refusal is immediate, and an address that does not answer
// must not eat the 10 s of the init phase.
const reachTimeout = time.Second

// CheckRuntimeAPI makes one connection to the Runtime API the proxy
// forwards to. An address where nothing listens then fails the init, with
// the variable named, instead of every call of the runtime with a 502.
func (c *Config) CheckRuntimeAPI(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.RuntimeAPI)
	if err != nil {
		return &Error{cmp.Or(c.runtimeAPIVariable, "DESTINATIONS_RUNTIME_API"), c.RuntimeAPI,
			"cannot connect (" + err.Error() + "): the proxy forwards every call of the runtime there; " +
				"start what listens there first, or leave DESTINATIONS_RUNTIME_API unset for the Runtime API itself"}
	}
	return conn.Close()
}
