"""The web application: factory, layout, static assets and translations."""
