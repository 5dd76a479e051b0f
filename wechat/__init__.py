"""The adapter to WeChat: API client, push-callback protocol, and a local stand-in.

This app imports no other project app; it speaks WeChat and nothing else.
"""
