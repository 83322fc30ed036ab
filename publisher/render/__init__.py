"""Pure rendering: Markdown to HTML and text, site pages, social posts, images."""
