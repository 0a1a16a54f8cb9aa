"""Web pages served by the edge: the reference viewer page (hls.js player, room chat, QoS)."""
