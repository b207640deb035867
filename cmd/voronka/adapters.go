package main

// The messengers compiled into the binary: each adapter registers its
// channel type (engine/channel) when imported. A new messenger is its
// package plus one line here; nothing else in cmd/voronka or the server
// names it.
import (
	_ "github.com/voronka/voronka/adapters/telegram"
	_ "github.com/voronka/voronka/adapters/viber"
	_ "github.com/voronka/voronka/adapters/vk"
	_ "github.com/voronka/voronka/adapters/webchat"
	_ "github.com/voronka/voronka/adapters/whatsapp"
)
