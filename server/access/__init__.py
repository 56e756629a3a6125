"""The access key: every page, API call and media byte needs it, except static assets."""
