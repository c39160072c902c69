module github.com/latchkey/latchkey/client

go 1.23
