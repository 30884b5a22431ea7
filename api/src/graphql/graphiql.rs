//! The GraphiQL playground page, with the header editor open and prefilled for the two headers
//! this API reads. Empty header values are treated as absent, so the page works before login.

/// The HTML of the playground served at `GET /graphiql`.
pub fn graphiql_page() -> &'static str {
    PAGE
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>School data service: GraphiQL</title>
  <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css" />
  <script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script>
    const defaultHeaders = JSON.stringify({
      "Authorization": "",
      "X-School-Id": ""
    }, null, 2);
    const defaultQuery = `# Welcome to the school data service.
#
# 1. Sign in with the login mutation to get a token.
# 2. In the Headers tab below, set "Authorization" to "Bearer <token>".
# 3. If you belong to several schools, set "X-School-Id" to a school id or slug.
#
# Every type and field is described in the Docs panel.
query {
  apiVersion
}
`;
    const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultQuery,
        defaultHeaders,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: true,
        defaultEditorToolsVisibility: "headers",
      })
    );
  </script>
</body>
</html>
"##;
