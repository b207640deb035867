package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/internal/egress"
	"github.com/voronka/voronka/server"
)

// serveConfig is everything `voronka serve` is told, from (lowest to
// highest precedence) defaults, voronka.yaml, environment variables and flags.
type serveConfig struct {
	Listen      string `yaml:"listen"`
	Data        string `yaml:"data"`
	MongoURI    string `yaml:"mongo_uri"`
	MongoDB     string `yaml:"mongo_db"`
	Flows       string `yaml:"flows"`
	Flow        string `yaml:"flow"`
	PublicURL   string `yaml:"public_url"`
	APIToken    string `yaml:"api_token"`
	TelegramAPI string `yaml:"telegram_api"`
	Telegram    string `yaml:"telegram_token"`
	LogLevel    string `yaml:"log_level"`
	// SecretKey encrypts channel tokens at rest (AES-GCM); read from
	// VORONKA_SECRET_KEY only, never from a file.
	SecretKey string `yaml:"-"`
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies
	// whose X-Forwarded-For names the client (sign-in limits, logs).
	TrustedProxies string `yaml:"trusted_proxies"`
	// HTTPAllow lists the internal destinations flows' outbound calls may
	// reach (CIDRs, addresses, host names, *.domain); everything internal
	// else is refused.
	HTTPAllow string `yaml:"http_allow"`
	// WebChat caps the web chat socket (server.WebChatLimits; 0 is the
	// default, -1 no limit).
	WebChatMaxConns        int `yaml:"webchat_max_conns"`
	WebChatMaxConnsPerAddr int `yaml:"webchat_max_conns_per_addr"`
	WebChatNewPerMinute    int `yaml:"webchat_new_chats_per_minute"`
	// TelegramRate is the bot-wide send rate in messages per second. Telegram
	// allows about 30; bots with paid broadcasts up to 1000.
	TelegramRate float64 `yaml:"telegram_rate"`
	// ChannelRates set the bot-wide send rate of other channel types, in
	// messages per second by type name ({whatsapp: 1000} for a number
	// Meta raised to 1,000 msg/s); the per-chat limits stay.
	ChannelRates map[string]float64 `yaml:"channel_rates"`
	// SendHorizon is how long a message that fails to send with a passing
	// error (5xx, 429, timeout, reset) is retried before it is recorded as
	// failed; "" is the runtime's default, an hour.
	SendHorizon string `yaml:"send_horizon"`
	sendHorizon time.Duration
	Bots        []botConfig `yaml:"bots"`
	// MetricsToken puts /metrics on the public port behind a bearer token;
	// MetricsListen serves /metrics on an address of its own. With neither,
	// /metrics is not served at all.
	MetricsToken  string `yaml:"metrics_token"`
	MetricsListen string `yaml:"metrics_listen"`
	// Retain is what the periodic purge keeps (see the README's Retention).
	Retain retentionConfig `yaml:"retain"`
	// retention is Retain, read.
	retention runtime.Retention

	// telegramLimits overrides Telegram's rate limits; tests only.
	telegramLimits *channel.Limits
	// channelRetry is the first back-off of a channel that cannot reach its
	// messenger (the cap is four times it); zero means the adapter's
	// default, 1 s doubling to 1 min. Tests only.
	channelRetry time.Duration
}

// botConfig is one bot of voronka.yaml.
type botConfig struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	Flow     string `yaml:"flow"`
	Telegram *struct {
		Token string `yaml:"token"`
		API   string `yaml:"api"`
	} `yaml:"telegram"`
	Web        *bool    `yaml:"web"`
	TimeZone   string   `yaml:"time_zone"`
	QuietHours string   `yaml:"quiet_hours"` // "21:00-09:00"
	Env        []string `yaml:"env"`         // environment variables flows may read as env.NAME
	// StopWords replace the built-in stop words ([] turns them off);
	// BroadcastsPerWeek caps the broadcasts one contact gets in 7 days.
	StopWords         *[]string `yaml:"stop_words"`
	BroadcastsPerWeek int       `yaml:"broadcasts_per_week"`
}

// trustedProxies splits TrustedProxies and checks each entry.
func (c serveConfig) trustedProxies() ([]string, error) {
	var out []string
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		_, _, cidrErr := net.ParseCIDR(p)
		if net.ParseIP(p) == nil && cidrErr != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR range", p)
		}
		out = append(out, p)
	}
	return out, nil
}

const defaultTelegramAPI = "https://api.telegram.org/bot%s/%s"

func defaults() serveConfig {
	return serveConfig{
		Listen:      ":8080",
		Data:        "./data/voronka.db",
		MongoDB:     "voronka",
		Flows:       "./flows",
		Flow:        "lead-qualification",
		TelegramAPI: defaultTelegramAPI,
		LogLevel:    "info",
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// loadServeConfig builds the configuration; getenv is os.Getenv outside tests.
func loadServeConfig(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	cfg := defaults()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "voronka.yaml with several bots (default: ./voronka.yaml if it exists)")
	listen := fs.String("listen", "", "address to serve HTTP on [VORONKA_LISTEN, :8080]")
	data := fs.String("data", "", "bolt database file [VORONKA_DATA, ./data/voronka.db]")
	mongoURI := fs.String("mongo", "", "MongoDB URI; use MongoDB instead of the bolt file [VORONKA_MONGO_URI]")
	flows := fs.String("flows", "", "folder of flow files published at start-up [VORONKA_FLOWS, ./flows]")
	flowID := fs.String("flow", "", "id of the flow the default bot runs [VORONKA_FLOW, lead-qualification]")
	token := fs.String("telegram-token", "", "Telegram bot token for the default bot [VORONKA_TELEGRAM_TOKEN]")
	api := fs.String("telegram-api", "", "Bot API endpoint format, token then method [VORONKA_TELEGRAM_API]")
	public := fs.String("public-url", "", "public base URL: Telegram webhooks when set, long polling otherwise [VORONKA_PUBLIC_URL]")
	apiToken := fs.String("api-token", "", "bearer token for automation on /api, with admin rights; without it only signed-in users may use the API [VORONKA_API_TOKEN]")
	logLevel := fs.String("log-level", "", "debug, info, warn or error [VORONKA_LOG_LEVEL, info]")
	proxies := fs.String("trusted-proxies", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed [VORONKA_TRUSTED_PROXIES]")
	metricsListen := fs.String("metrics-listen", "", "address to serve /metrics on, apart from the public port [VORONKA_METRICS_LISTEN; default: /metrics is off unless VORONKA_METRICS_TOKEN is set]")
	httpAllow := fs.String("http-allow", "", "internal CIDRs, addresses and host names (*.domain for a whole domain) that webhook nodes may call; comma-separated [VORONKA_HTTP_ALLOW]")
	wcMax := fs.String("webchat-max-conns", "", "open web chat connections this process accepts; -1 for no limit [VORONKA_WEBCHAT_MAX_CONNS, 10000]")
	wcPerAddr := fs.String("webchat-max-conns-per-addr", "", "open web chat connections from one client address (IPv6: one /64) [VORONKA_WEBCHAT_MAX_CONNS_PER_ADDR, 100]")
	wcNew := fs.String("webchat-new-chats-per-minute", "", "new web chat conversations one client address may start per minute [VORONKA_WEBCHAT_NEW_CHATS_PER_MINUTE, 30]")
	rate := fs.String("telegram-rate", "", "bot-wide Telegram send rate, messages per second [VORONKA_TELEGRAM_RATE, 30]")
	chRates := fs.String("channel-rates", "", "bot-wide send rates of other channel types, e.g. whatsapp=1000,vk=20 (messages per second) [VORONKA_CHANNEL_RATES]")
	horizon := fs.String("send-horizon", "", "how long a send failing with 5xx, 429, a timeout or a reset is retried before the message is marked failed [VORONKA_SEND_HORIZON, 1h]")
	retain := cfg.Retain.flags(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	path := *file
	if path == "" {
		if _, err := os.Stat("voronka.yaml"); err == nil {
			path = "voronka.yaml"
		}
	}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("read %s: %w", path, err)
		}
		// ${NAME} in the file reads the environment, so tokens need not be written into it.
		expanded := envRef.ReplaceAllStringFunc(string(raw), func(m string) string { return getenv(m[2 : len(m)-1]) })
		dec := yaml.NewDecoder(strings.NewReader(expanded))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && err != io.EOF {
			return cfg, fmt.Errorf("%s: %w", path, err)
		}
	}
	set := func(dst *string, flagVal, env string) {
		if v := getenv(env); v != "" {
			*dst = v
		}
		if flagVal != "" {
			*dst = flagVal
		}
	}
	set(&cfg.Listen, *listen, "VORONKA_LISTEN")
	set(&cfg.Data, *data, "VORONKA_DATA")
	set(&cfg.MongoURI, *mongoURI, "VORONKA_MONGO_URI")
	set(&cfg.MongoDB, "", "VORONKA_MONGO_DB")
	set(&cfg.Flows, *flows, "VORONKA_FLOWS")
	set(&cfg.Flow, *flowID, "VORONKA_FLOW")
	set(&cfg.Telegram, *token, "VORONKA_TELEGRAM_TOKEN")
	set(&cfg.TelegramAPI, *api, "VORONKA_TELEGRAM_API")
	set(&cfg.PublicURL, *public, "VORONKA_PUBLIC_URL")
	set(&cfg.APIToken, *apiToken, "VORONKA_API_TOKEN")
	set(&cfg.LogLevel, *logLevel, "VORONKA_LOG_LEVEL")
	set(&cfg.TrustedProxies, *proxies, "VORONKA_TRUSTED_PROXIES")
	set(&cfg.MetricsToken, "", "VORONKA_METRICS_TOKEN")
	set(&cfg.SecretKey, "", "VORONKA_SECRET_KEY")
	set(&cfg.MetricsListen, *metricsListen, "VORONKA_METRICS_LISTEN")
	if _, err := cfg.trustedProxies(); err != nil {
		return cfg, err
	}
	for _, r := range retain {
		set(r.field, *r.flag, r.env)
	}
	var err error
	if cfg.retention, err = retention(retain); err != nil {
		return cfg, err
	}
	set(&cfg.HTTPAllow, *httpAllow, "VORONKA_HTTP_ALLOW")
	if _, err := egress.ParseAllowlist(cfg.HTTPAllow); err != nil {
		return cfg, fmt.Errorf("http allow-list: %w", err)
	}
	for _, l := range []struct {
		dst       *int
		flag, env string
	}{
		{&cfg.WebChatMaxConns, *wcMax, "VORONKA_WEBCHAT_MAX_CONNS"},
		{&cfg.WebChatMaxConnsPerAddr, *wcPerAddr, "VORONKA_WEBCHAT_MAX_CONNS_PER_ADDR"},
		{&cfg.WebChatNewPerMinute, *wcNew, "VORONKA_WEBCHAT_NEW_CHATS_PER_MINUTE"},
	} {
		var text string
		set(&text, l.flag, l.env)
		if text == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil || n < -1 {
			return cfg, fmt.Errorf("%s %q must be a whole number (-1 for no limit)", l.env, text)
		}
		*l.dst = n
	}
	var rateText string
	set(&rateText, *rate, "VORONKA_TELEGRAM_RATE")
	if rateText != "" {
		r, err := strconv.ParseFloat(rateText, 64)
		if err != nil || r <= 0 {
			return cfg, fmt.Errorf("telegram rate %q must be a positive number of messages per second", rateText)
		}
		cfg.TelegramRate = r
	}
	var chRatesText string
	set(&chRatesText, *chRates, "VORONKA_CHANNEL_RATES")
	if chRatesText != "" {
		rates, err := parseChannelRates(chRatesText)
		if err != nil {
			return cfg, err
		}
		cfg.ChannelRates = rates
	}
	set(&cfg.SendHorizon, *horizon, "VORONKA_SEND_HORIZON")
	if cfg.SendHorizon != "" {
		d, err := time.ParseDuration(cfg.SendHorizon)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("send horizon %q must be a positive duration such as 1h or 30m", cfg.SendHorizon)
		}
		cfg.sendHorizon = d
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if strings.Count(cfg.TelegramAPI, "%s") != 2 {
		return cfg, fmt.Errorf("telegram API endpoint %q must contain %%s twice: the token, then the method", cfg.TelegramAPI)
	}
	for i, b := range cfg.Bots {
		if b.ID == "" || b.Flow == "" {
			return cfg, fmt.Errorf("bots[%d]: id and flow are required", i)
		}
		if !server.ValidID(b.ID) {
			return cfg, fmt.Errorf("bots[%d]: id %q: 1-64 Latin letters, digits, _ and -, starting with a letter or a digit", i, b.ID)
		}
	}
	return cfg, nil
}

// parseChannelRates reads "whatsapp=1000,vk=20".
func parseChannelRates(text string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		typ, num, ok := strings.Cut(part, "=")
		r, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if !ok || strings.TrimSpace(typ) == "" || err != nil || r <= 0 {
			return nil, fmt.Errorf("channel rate %q must be type=messages per second, such as whatsapp=1000", part)
		}
		out[strings.TrimSpace(typ)] = r
	}
	return out, nil
}
