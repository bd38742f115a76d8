// Command relayext is a reference extension for `make bench`: the
// do-nothing extension (../noopext) plus a byte-for-byte TCP relay on the
// layer's proxy port (DESTINATIONS_PROXY_PORT) to the Runtime API. Run with
// the layer's wrapper, it is the floor of any Runtime API proxy: the
// runtime's calls take the extra loopback hop, and nothing reads them.
//
// It is built into a layer directory as extensions/relay, beside a copy of
// the layer's destinations-wrapper.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "relay extension:", err)
		os.Exit(1)
	}
}

func run() error {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	port := os.Getenv("DESTINATIONS_PROXY_PORT")
	if port == "" {
		port = "9009"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return err
	}
	go relay(ln, api)

	base := "http://" + api + "/2020-01-01/extension/"
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	req, err := http.NewRequest(http.MethodPost, base+"register", bytes.NewReader([]byte(`{"events":["INVOKE","SHUTDOWN"]}`)))
	if err != nil {
		return err
	}
	req.Header.Set("Lambda-Extension-Name", filepath.Base(os.Args[0]))
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("register: status %d", resp.StatusCode)
	}
	id := resp.Header.Get("Lambda-Extension-Identifier")
	for {
		req, err := http.NewRequest(http.MethodGet, base+"event/next", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("next: %w", err)
		}
		var ev struct {
			EventType string `json:"eventType"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ev)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("next: status %d: %v", resp.StatusCode, err)
		}
		if ev.EventType == "SHUTDOWN" {
			return nil
		}
	}
}

// relay copies bytes both ways between each connection and the Runtime API.
func relay(ln net.Listener, upstream string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{})
			go func() {
				_, _ = io.Copy(u, c)
				u.(*net.TCPConn).CloseWrite()
				close(done)
			}()
			_, _ = io.Copy(c, u)
			c.(*net.TCPConn).CloseWrite()
			<-done
		}()
	}
}
