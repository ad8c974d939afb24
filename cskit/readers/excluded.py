# TEMPORARY STUB created by the chat-readers helper; replace freely.
