"""The trust-and-safety console: analysts' routes, their live Socket.IO namespace and the page."""
