package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadGeneratesOnceWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, src, err := Load(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(src), "generated ") {
		t.Fatalf("source = %q, want generated", src)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, src, err := Load(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(src), "file ") || !bytes.Equal(k1.Derive("x"), k2.Derive("x")) {
		t.Fatalf("second load (%s) gave another key", src)
	}
}

func TestLoadSources(t *testing.T) {
	dir := t.TempDir()
	value := strings.Repeat("s", MinLen)
	fromEnv, _, err := Load(dir, value, "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "mounted")
	if err := os.WriteFile(file, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, _, err := Load(dir, "", file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromEnv.Derive("a"), fromFile.Derive("a")) {
		t.Fatal("the same secret from env and file derived different keys")
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		t.Fatal("a secret was generated although one was given")
	}
	if _, _, err := Load(dir, "short", ""); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("short secret: err = %v (must fail without echoing the value)", err)
	}
	if _, _, err := Load(dir, "", filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing secret file accepted")
	}
}

func TestDeriveSeparatesPurposes(t *testing.T) {
	k, _ := FromString(strings.Repeat("k", 40))
	if bytes.Equal(k.Derive("a"), k.Derive("b")) {
		t.Fatal("two purposes share a key")
	}
	other, _ := FromString(strings.Repeat("j", 40))
	if bytes.Equal(k.Derive("a"), other.Derive("a")) {
		t.Fatal("two secrets derive the same key")
	}
}

func TestBox(t *testing.T) {
	k, _ := FromString(strings.Repeat("k", 40))
	b := k.Box("license-key")
	msg := []byte("019ae9f4-18b2-706b-b728-3f77c6bd9217")
	sealed := b.Seal(msg)
	if bytes.Contains(sealed, msg) {
		t.Fatal("sealed value contains the plaintext")
	}
	if again := b.Seal(msg); bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same value are equal: nonce reuse")
	}
	got, err := b.Open(sealed)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b.Open(sealed); err == nil {
		t.Fatal("tampered value opened")
	}
	if _, err := k.Box("other").Open(b.Seal(msg)); err == nil {
		t.Fatal("a box for another purpose opened the value")
	}
	if _, err := b.Open([]byte{1, 2}); err == nil {
		t.Fatal("short value opened")
	}
}
