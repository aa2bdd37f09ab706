/* chat.c: renders chat messages in the formats of the common model families. */
#include "chat.h"

#include <errno.h>
#include <string.h>

#include "macro.h"
#include "strbuf.h"

static const char *const format_names[_CHAT_FORMAT_MAX] = {
        [CHAT_FORMAT_LLAMA3] = "llama3",
        [CHAT_FORMAT_CHATML] = "chatml",
        [CHAT_FORMAT_LLAMA2] = "llama2",
        [CHAT_FORMAT_MISTRAL] = "mistral",
};

int chat_format_from_template(const char *tmpl, ChatFormat *ret) {
        if (!tmpl)
                return -EINVAL;
        if (strstr(tmpl, "<|start_header_id|>"))
                *ret = CHAT_FORMAT_LLAMA3;
        else if (strstr(tmpl, "<|im_start|>"))
                *ret = CHAT_FORMAT_CHATML;
        else if (strstr(tmpl, "[INST]"))
                *ret = strstr(tmpl, "<<SYS>>") ? CHAT_FORMAT_LLAMA2 : CHAT_FORMAT_MISTRAL;
        else
                return -EOPNOTSUPP;
        return 0;
}

int chat_format_from_name(const char *name, ChatFormat *ret) {
        for (int i = 0; i < _CHAT_FORMAT_MAX; i++)
                if (name && streq(name, format_names[i])) {
                        *ret = (ChatFormat) i;
                        return 0;
                }
        return -EINVAL;
}

const char *chat_format_name(ChatFormat f) {
        return f >= 0 && f < _CHAT_FORMAT_MAX ? format_names[f] : "unknown";
}

static bool known_role(const char *r) {
        return r && (streq(r, "system") || streq(r, "user") || streq(r, "assistant"));
}

static int render_llama3(StrBuf *b, const ChatMessage *m, size_t n, bool gen) {
        int r = strbuf_puts(b, "<|begin_of_text|>");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = strbuf_printf(b, "<|start_header_id|>%s<|end_header_id|>\n\n%s<|eot_id|>", m[i].role, m[i].content);
        if (r >= 0 && gen)
                r = strbuf_puts(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        return r;
}

static int render_chatml(StrBuf *b, const ChatMessage *m, size_t n, bool gen) {
        int r = 0;
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = strbuf_printf(b, "<|im_start|>%s\n%s<|im_end|>\n", m[i].role, m[i].content);
        if (r >= 0 && gen)
                r = strbuf_puts(b, "<|im_start|>assistant\n");
        return r;
}

/* [INST] formats: a system message is folded into the next user turn, as <<SYS>> (Llama 2) or as
 * plain text before it (Mistral). */
static int render_inst(StrBuf *b, const ChatMessage *m, size_t n, bool llama2) {
        const char *system = NULL;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (streq(m[i].role, "system"))
                        system = m[i].content;
                else if (streq(m[i].role, "user")) {
                        r = strbuf_puts(b, "<s>[INST] ");
                        if (r >= 0 && system)
                                r = llama2 ? strbuf_printf(b, "<<SYS>>\n%s\n<</SYS>>\n\n", system)
                                           : strbuf_printf(b, "%s\n\n", system);
                        system = NULL;
                        if (r >= 0)
                                r = strbuf_printf(b, "%s [/INST]", m[i].content);
                } else
                        r = strbuf_printf(b, " %s</s>", m[i].content);
        }
        return r;
}

int chat_apply(ChatFormat f, const ChatMessage *msgs, size_t n, bool add_generation_prompt, char **ret) {
        StrBuf b = STRBUF_INIT;
        int r;

        for (size_t i = 0; i < n; i++)
                if (!known_role(msgs[i].role) || !msgs[i].content)
                        return -EINVAL;
        switch (f) {
        case CHAT_FORMAT_LLAMA3:
                r = render_llama3(&b, msgs, n, add_generation_prompt);
                break;
        case CHAT_FORMAT_CHATML:
                r = render_chatml(&b, msgs, n, add_generation_prompt);
                break;
        case CHAT_FORMAT_LLAMA2:
        case CHAT_FORMAT_MISTRAL:
                r = render_inst(&b, msgs, n, f == CHAT_FORMAT_LLAMA2);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_take(&b);
        return *ret ? 0 : -ENOMEM;
}
