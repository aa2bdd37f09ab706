/* chat.h: chat templates (Llama 3, ChatML/Qwen, Llama 2 and Mistral [INST]) recognised from GGUF. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum ChatFormat {
        CHAT_FORMAT_LLAMA3,
        CHAT_FORMAT_CHATML,
        CHAT_FORMAT_LLAMA2,  /* [INST] with <<SYS>> */
        CHAT_FORMAT_MISTRAL, /* [INST] with the system prompt before the first user message */
        _CHAT_FORMAT_MAX,
} ChatFormat;

typedef struct ChatMessage {
        const char *role; /* "system", "user", "assistant" */
        const char *content;
} ChatMessage;

/* Recognises the format of a tokenizer.chat_template (Jinja text) by its markers. -EOPNOTSUPP when
 * it is none of the known ones (name one with chat_format_from_name()). */
int chat_format_from_template(const char *tmpl, ChatFormat *ret);
/* "llama3", "chatml", "llama2", "mistral"; -EINVAL otherwise. */
int chat_format_from_name(const char *name, ChatFormat *ret);
const char *chat_format_name(ChatFormat f);

/* Renders messages as the model was trained to see them, special tokens spelled out (encode the
 * result with special-token parsing on and without adding BOS: the text carries it). With
 * add_generation_prompt the text ends where the assistant's answer begins. Rejects unknown roles
 * and a NULL content (-EINVAL). The caller frees *ret. */
int chat_apply(ChatFormat f, const ChatMessage *msgs, size_t n, bool add_generation_prompt, char **ret);
