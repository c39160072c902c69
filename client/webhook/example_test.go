package webhook_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/client/webhook"
)

// A webhook handler checks the Latchkey-Signature header of a delivery
// with the endpoint's secret before it believes the event. Here the
// delivery is signed as the server signs it (webhook.Sign), then altered.
func ExampleVerifyAt() {
	const secret = "whsec_example"
	body := []byte(`{"id":"evt_01","type":"license.revoked","created_at":"2026-12-04T18:00:00Z","data":{"object":{"id":42}}}`)
	sent := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	header := "t=" + strconv.FormatInt(sent.Unix(), 10) + ",v1=" + hex.EncodeToString(webhook.Sign(secret, sent.Unix(), body))

	ev, err := webhook.VerifyAt(body, header, secret, 5*time.Minute, sent.Add(10*time.Second))
	fmt.Println(ev.Type, string(ev.Data.Object), err)

	tampered := []byte(string(body[:len(body)-4]) + "43}}")
	_, err = webhook.VerifyAt(tampered, header, secret, 5*time.Minute, sent.Add(10*time.Second))
	fmt.Println(errors.Is(err, webhook.ErrSignature))

	_, err = webhook.VerifyAt(body, header, secret, 5*time.Minute, sent.Add(time.Hour)) // a replay, an hour later
	fmt.Println(errors.Is(err, webhook.ErrTimestamp))
	// Output:
	// license.revoked {"id":42} <nil>
	// true
	// true
}
