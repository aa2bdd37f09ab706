/* test-chat.c: the chat formats rendered exactly, and templates recognised or refused. */
#include "chat.h"
#include "test.h"

static const ChatMessage conv[] = {
        { "system", "Be brief." },
        { "user", "Hi" },
        { "assistant", "Hello." },
        { "user", "2+2?" },
};

static void check(ChatFormat f, const char *want) {
        _cleanup_free_ char *s = NULL;
        if (chat_apply(f, conv, ELEMENTSOF(conv), true, &s) < 0 || !streq(s, want))
                test_fail(__FILE__, __LINE__, "%s:\n got: %s\nwant: %s", chat_format_name(f), s ? s : "(error)", want);
}

TEST(llama3) {
        check(CHAT_FORMAT_LLAMA3,
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(chatml) {
        check(CHAT_FORMAT_CHATML, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                                  "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
                                  "<|im_start|>assistant\n");
}

TEST(llama2_and_mistral) {
        check(CHAT_FORMAT_LLAMA2, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello.</s><s>[INST] 2+2? [/INST]");
        check(CHAT_FORMAT_MISTRAL, "<s>[INST] Be brief.\n\nHi [/INST] Hello.</s><s>[INST] 2+2? [/INST]");
}

TEST(recognise_templates) {
        ChatFormat f;

        ASSERT_OK(chat_format_from_template("{% for m in messages %}<|start_header_id|>{{ m.role }}...", &f));
        ASSERT_EQ(f, CHAT_FORMAT_LLAMA3);
        ASSERT_OK(chat_format_from_template("{{'<|im_start|>' + message['role'] + '\\n'}}", &f));
        ASSERT_EQ(f, CHAT_FORMAT_CHATML);
        ASSERT_OK(chat_format_from_template("{{ bos_token + '[INST] ' + '<<SYS>>\\n' }}", &f));
        ASSERT_EQ(f, CHAT_FORMAT_LLAMA2);
        ASSERT_OK(chat_format_from_template("{{ '[INST] ' + message['content'] + ' [/INST]' }}", &f));
        ASSERT_EQ(f, CHAT_FORMAT_MISTRAL);
        ASSERT_ERROR(chat_format_from_template("{{ '<start_of_turn>' }}", &f), -EOPNOTSUPP);
        ASSERT_ERROR(chat_format_from_template(NULL, &f), -EINVAL);
        ASSERT_OK(chat_format_from_name("chatml", &f));
        ASSERT_EQ(f, CHAT_FORMAT_CHATML);
        ASSERT_ERROR(chat_format_from_name("gemma", &f), -EINVAL);
}

TEST(bad_messages) {
        ChatMessage bad[] = { { "tool", "x" } };
        ChatMessage nul[] = { { "user", NULL } };
        char *s = NULL;
        ASSERT_ERROR(chat_apply(CHAT_FORMAT_CHATML, bad, 1, true, &s), -EINVAL);
        ASSERT_ERROR(chat_apply(CHAT_FORMAT_CHATML, nul, 1, true, &s), -EINVAL);
        ASSERT_NULL(s);
}
