// A webhook endpoint that speaks the WhatsApp Cloud API's format (DESIGN §5.7): Meta's webhook notifications in,
// send-message bodies out. Point the WhatsApp app's webhook at the endpoint URL and the endpoint's webhook.url at a
// relay that adds the Graph API token and POSTs to /v{version}/{phone_number_id}/messages (the token never
// reaches Parley's flows or this file).
createWebhookTransformer({
  // {object: "whatsapp_business_account", entry: [{changes: [{value: {metadata, contacts, messages|statuses}}]}]}
  handleInput: async ({ endpoint, request }) => {
    const value = request.body?.entry?.[0]?.changes?.[0]?.value;
    const message = value?.messages?.[0];
    // Delivery and read receipts carry no message: nothing to run.
    if (!message || typeof message.from !== "string") return null;
    const userId = message.from;
    const sessionId = "whatsapp-" + message.from;
    const storage = await getSessionStorage(userId, sessionId);
    storage.phoneNumberId = value.metadata?.phone_number_id ?? storage.phoneNumberId;
    storage.received = (storage.received || 0) + 1;
    const whatsapp = { messageId: message.id, type: message.type, name: value.contacts?.[0]?.profile?.name ?? null };
    switch (message.type) {
      case "text":
        return { userId, sessionId, text: message.text?.body ?? "", data: { whatsapp } };
      case "interactive": {
        const reply = message.interactive?.button_reply ?? message.interactive?.list_reply ?? {};
        return { userId, sessionId, text: reply.title ?? "", data: { whatsapp: { ...whatsapp, replyId: reply.id ?? null } } };
      }
      default:
        // Images, locations, ...: the flow sees the type and decides.
        return { userId, sessionId, data: { whatsapp } };
    }
  },

  // Each output becomes a Cloud API message: text as a text message, quick replies (data.quickReplies) as buttons.
  handleOutput: async ({ output, userId, sessionId }) => {
    const storage = await getSessionStorage(userId, sessionId);
    const base = { messaging_product: "whatsapp", recipient_type: "individual", to: userId, phone_number_id: storage.phoneNumberId ?? null };
    const replies = Array.isArray(output.data?.quickReplies) ? output.data.quickReplies.slice(0, 3) : [];
    if (replies.length && output.text) {
      return {
        ...base,
        type: "interactive",
        interactive: {
          type: "button",
          body: { text: output.text },
          action: { buttons: replies.map((title, index) => ({ type: "reply", reply: { id: "reply-" + (index + 1), title: String(title) } })) },
        },
      };
    }
    // Data-only outputs (handover notices, copilot data) have no WhatsApp form: not sent.
    if (!output.text) return null;
    return { ...base, type: "text", text: { preview_url: false, body: output.text } };
  },
});
