"""Chat platforms (Zalo OA, WeChat OA) as a utility's webhook sees them: followers who send
signed events, and the platform's send-message API that records what the service sends."""
