// Command noopext is the do-nothing Lambda extension that `make bench`
// measures the layer against: it registers for INVOKE and SHUTDOWN and asks
// for the next event until SHUTDOWN, nothing else. It is the floor every
// external extension pays (the emulator waits for its registration at init
// and for its /next after each invocation).
//
// It is built into a layer directory as extensions/noop; Lambda takes the
// extension's name from the file name.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lambda-destinations/lambda-destinations/internal/bench/extloop"
)

func main() {
	if err := extloop.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "noop extension:", err)
		os.Exit(1)
	}
}
