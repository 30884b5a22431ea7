//! The GraphiQL playground, served entirely by this service: the page, its script and the
//! pinned GraphiQL, React and graphql-ws builds vendored in `api/assets/graphiql` (with their
//! licences, and `vendor.sh` to bring them again) are embedded in the binary, so `/graphiql`
//! works on a network with no internet. Queries and mutations go to `/graphql`, subscriptions
//! over WebSocket to `/graphql/ws` with the header editor's headers as the connection's
//! credentials. The header editor is open and prefilled for the two headers this API reads
//! (empty values count as absent, so the page works before login); headers are kept only in
//! the page unless the user turns on "Persist headers" in GraphiQL's settings.

/// The HTML of the playground served at `GET /graphiql`.
pub fn graphiql_page() -> &'static str {
    PAGE
}

/// What the page may load and call: only this service (its scripts and styles, its `/graphql`
/// and `/graphql/ws`); GraphiQL's editors set inline styles and its stylesheet holds data: fonts.
pub const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One of the page's assets: its content type and bytes, by the file name under
/// `/graphiql/assets/`; `None` for any other name.
pub fn graphiql_asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    const JS: &str = "text/javascript; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";
    Some(match name {
        "graphiql.min.js" => (JS, include_bytes!("../../assets/graphiql/graphiql.min.js")),
        "graphiql.min.css" => (
            CSS,
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
        ),
        "react.production.min.js" => (
            JS,
            include_bytes!("../../assets/graphiql/react.production.min.js"),
        ),
        "react-dom.production.min.js" => (
            JS,
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
        ),
        "graphql-ws.min.js" => (
            JS,
            include_bytes!("../../assets/graphiql/graphql-ws.min.js"),
        ),
        "start.js" => (JS, START.as_bytes()),
        "LICENSES.txt" => (
            "text/plain; charset=utf-8",
            include_bytes!("../../assets/graphiql/LICENSES.txt"),
        ),
        _ => return None,
    })
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>School data service: GraphiQL</title>
  <link rel="icon" href="data:," />
  <link rel="stylesheet" href="/graphiql/assets/graphiql.min.css" />
  <script src="/graphiql/assets/react.production.min.js"></script>
  <script src="/graphiql/assets/react-dom.production.min.js"></script>
  <script src="/graphiql/assets/graphiql.min.js"></script>
  <script src="/graphiql/assets/graphql-ws.min.js"></script>
</head>
<body style="margin: 0">
  <div id="graphiql" style="height: 100vh">Loading GraphiQL…</div>
  <script src="/graphiql/assets/start.js"></script>
</body>
</html>
"##;

/// Starts GraphiQL. Subscriptions use a graphql-ws client whose `connection_init` carries the
/// header editor's headers (the socket reads its credentials there); when the headers change,
/// the next operation opens a new socket with the new ones.
const START: &str = r##""use strict";
(function () {
  var wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql/ws";
  var current = null;
  function fetcherFor(headers) {
    var given = headers || {};
    var key = JSON.stringify(given);
    if (!current || current.key !== key) {
      if (current) current.client.dispose();
      var params = {};
      Object.keys(given).forEach(function (name) {
        if (given[name]) params[name] = given[name];
      });
      var client = graphqlWs.createClient({ url: wsUrl, connectionParams: params, lazy: true });
      current = {
        key: key,
        client: client,
        fetcher: GraphiQL.createFetcher({ url: "/graphql", wsClient: client }),
      };
    }
    return current.fetcher;
  }
  function fetcher(params, options) {
    return fetcherFor(options && options.headers)(params, options);
  }
  // GraphiQL keeps tabs and history in localStorage. Unless the user turns on "Persist
  // headers" in its settings, nothing that could carry credentials is written there: headers,
  // variables and answers (a login answer holds a token) are dropped from what is stored, and in
  // the rest (queries) session tokens, API tokens and password arguments are blanked.
  var SECRETS = [
    [/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, ""],
    [/sds_[A-Za-z0-9]+/g, ""],
    [/(password"?\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1""'],
  ];
  function blank(text) {
    return SECRETS.reduce(function (t, s) { return t.replace(s[0], s[1]); }, text);
  }
  function strip(value) {
    if (typeof value === "string") return blank(value);
    if (Array.isArray(value)) return value.map(strip);
    if (value && typeof value === "object") {
      var kept = {};
      Object.keys(value).forEach(function (name) {
        if (name === "headers" || name === "response" || name === "variables") return;
        var secret = /password|token|secret|authorization/i.test(name);
        kept[name] = secret && typeof value[name] === "string" ? "" : strip(value[name]);
      });
      return kept;
    }
    return value;
  }
  var storage = {
    getItem: function (key) { return localStorage.getItem(key); },
    setItem: function (key, value) {
      if (localStorage.getItem("graphiql:shouldPersistHeaders") !== "true") {
        try { value = JSON.stringify(strip(JSON.parse(value))); } catch (e) { value = blank(String(value)); }
      }
      localStorage.setItem(key, value);
    },
    removeItem: function (key) { localStorage.removeItem(key); },
    clear: function () {
      Object.keys(localStorage).forEach(function (key) {
        if (key.indexOf("graphiql:") === 0) localStorage.removeItem(key);
      });
    },
    key: function (i) { return localStorage.key(i); },
    get length() { return localStorage.length; },
  };
  var defaultHeaders = JSON.stringify({ "Authorization": "", "X-School-Id": "" }, null, 2);
  var defaultQuery = [
    "# Welcome to the school data service.",
    "#",
    "# 1. Sign in: run the login mutation below with your email and password.",
    "# 2. In the Headers tab below, set \"Authorization\" to \"Bearer <token>\".",
    "# 3. If you belong to several schools, set \"X-School-Id\" to a school id or slug.",
    "#",
    "# Every type and field is described in the Docs panel. Subscriptions",
    "# (importProgress) run over WebSocket with the same headers.",
    "mutation SignIn {",
    "  login(email: \"\", password: \"\") {",
    "    token",
    "  }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      defaultQuery: defaultQuery,
      defaultHeaders: defaultHeaders,
      isHeadersEditorEnabled: true,
      showPersistHeadersSettings: true,
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
"##;
