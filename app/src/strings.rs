//! The widget's words, in every language it speaks.
//!
//! The server picks the visitor's language (the loader passes `data-lang`, else the host page's
//! `<html lang>`, else the browser's), and writes that language's table into the widget page
//! (`<meta name="outpost-strings">`, JSON) with the project's own greeting and placeholder for
//! it, if any. The widget reads the table once: no language but the visitor's travels, and the
//! tables cost the widget's Wasm nothing.

/// The keys of the table, shared by the server that writes it and the widget that reads it.
pub mod key {
    /// The panel's title until the project's arrives.
    pub const TITLE: &str = "title";
    /// The close button's label.
    pub const CLOSE: &str = "close";
    /// While the first connection is made.
    pub const CONNECTING: &str = "connecting";
    /// The connection is lost; `{s}` is the seconds until the next attempt.
    pub const RECONNECTING: &str = "reconnecting";
    /// The message list's label.
    pub const CONVERSATION: &str = "conversation";
    /// The handoff button.
    pub const TALK: &str = "talk";
    /// After the handoff.
    pub const HANDED_OFF: &str = "handed_off";
    /// The composer's label.
    pub const YOUR_QUESTION: &str = "your_question";
    /// The composer's placeholder (a project may set its own per language).
    pub const PLACEHOLDER: &str = "placeholder";
    /// The send button.
    pub const SEND: &str = "send";
    /// The starter questions' label.
    pub const SUGGESTED: &str = "suggested";
    /// The typing indicator's label.
    pub const TYPING: &str = "typing";
    /// Marks an operator's message.
    pub const TEAM: &str = "team";
    /// The citations' label.
    pub const SOURCES: &str = "sources";
    /// Before the offer of a person under an uncited answer.
    pub const NOT_WHAT: &str = "not_what";
    /// The rating group's label.
    pub const HELPFUL_Q: &str = "helpful_q";
    /// The thumbs up.
    pub const HELPFUL: &str = "helpful";
    /// The thumbs down.
    pub const NOT_HELPFUL: &str = "not_helpful";
    /// Retry a failed answer.
    pub const RETRY: &str = "retry";
    /// The copy button of a code block.
    pub const COPY: &str = "copy";
    /// Its label for screen readers.
    pub const COPY_CODE: &str = "copy_code";
    /// After copying.
    pub const COPIED: &str = "copied";
    /// The copy button of a whole answer.
    pub const COPY_ANSWER: &str = "copy_answer";
    /// The site gave no identity token.
    pub const NOT_IDENTIFIED: &str = "not_identified";
    /// The server cannot be reached.
    pub const UNAVAILABLE: &str = "unavailable";
    /// The project's greeting for this language (only when the project sets one).
    pub const GREETING: &str = "greeting";
}

/// The `<meta name>` under which the widget page carries the table (JSON).
pub const STRINGS_META: &str = "outpost-strings";

#[cfg(all(feature = "csr", not(feature = "console")))]
thread_local! {
    static TABLE: wasm_bindgen::JsValue = leptos::prelude::document()
        .query_selector(&format!("meta[name=\"{STRINGS_META}\"]"))
        .ok()
        .flatten()
        .and_then(|m| m.get_attribute("content"))
        .and_then(|json| js_sys::JSON::parse(&json).ok())
        .unwrap_or(wasm_bindgen::JsValue::UNDEFINED);
}

/// The visitor's words for `key` (empty when the page has none).
#[cfg(all(feature = "csr", not(feature = "console")))]
pub fn t(key: &str) -> String {
    TABLE.with(|table| {
        js_sys::Reflect::get(table, &key.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    })
}

/// [`t`], escaped for markup.
#[cfg(all(feature = "csr", not(feature = "console")))]
pub fn th(key: &str) -> String {
    outpost_protocol::escape_html(&t(key))
}

/// The languages the widget speaks, English first (the fallback).
#[cfg(feature = "ssr")]
pub const LOCALES: [&str; 9] = ["en", "de", "fr", "es", "pt", "ja", "zh", "ar", "he"];

/// The language among [`LOCALES`] for a requested one (`de-AT`, `pt_BR`, `ZH-hant`): the
/// primary subtag, case-insensitive; English when it is not spoken.
#[cfg(feature = "ssr")]
pub fn negotiate(requested: &str) -> &'static str {
    let primary = requested
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    LOCALES
        .iter()
        .find(|l| **l == primary)
        .copied()
        .unwrap_or("en")
}

/// Whether `locale` is written right to left.
#[cfg(feature = "ssr")]
pub fn is_rtl(locale: &str) -> bool {
    matches!(locale, "ar" | "he")
}

/// The table of `locale` (one of [`LOCALES`]; English otherwise), in the order of [`key`].
#[cfg(feature = "ssr")]
pub fn table(locale: &str) -> [(&'static str, &'static str); 25] {
    use key::*;
    let t = match locale {
        "de" => [
            "Assistent",
            "Chat schließen",
            "Verbindung wird hergestellt…",
            "Verbindung verloren. Neuer Versuch in {s} s… Ihre Nachrichten werden dann gesendet.",
            "Unterhaltung",
            "Mit einem Menschen sprechen",
            "Jemand aus dem Team antwortet hier. Sie können dieses Fenster schließen und später wiederkommen.",
            "Ihre Frage",
            "Stellen Sie eine Frage…",
            "Senden",
            "Vorgeschlagene Fragen",
            "Der Assistent schreibt",
            "Team",
            "Quellen",
            "Nicht das, was Sie brauchten?",
            "War das hilfreich?",
            "Hilfreich",
            "Nicht hilfreich",
            "Erneut versuchen",
            "Kopieren",
            "Code kopieren",
            "Kopiert",
            "Antwort kopieren",
            "Die Website hat Sie noch nicht angemeldet.",
            "Der Assistent ist nicht erreichbar.",
        ],
        "fr" => [
            "Assistant",
            "Fermer la discussion",
            "Connexion…",
            "Connexion perdue. Nouvelle tentative dans {s} s… Vos messages seront envoyés à ce moment-là.",
            "Conversation",
            "Parler à une personne",
            "Une personne de l'équipe vous répondra ici. Vous pouvez fermer cette fenêtre et revenir plus tard.",
            "Votre question",
            "Posez une question…",
            "Envoyer",
            "Questions suggérées",
            "L'assistant écrit",
            "Équipe",
            "Sources",
            "Ce n'est pas ce qu'il vous fallait ?",
            "Cette réponse vous a-t-elle aidé ?",
            "Utile",
            "Pas utile",
            "Réessayer",
            "Copier",
            "Copier le code",
            "Copié",
            "Copier la réponse",
            "Le site ne vous a pas encore identifié.",
            "L'assistant est indisponible.",
        ],
        "es" => [
            "Asistente",
            "Cerrar el chat",
            "Conectando…",
            "Se perdió la conexión. Reintentando en {s} s… Sus mensajes se enviarán entonces.",
            "Conversación",
            "Hablar con una persona",
            "Una persona del equipo le responderá aquí. Puede cerrar esta ventana y volver más tarde.",
            "Su pregunta",
            "Haga una pregunta…",
            "Enviar",
            "Preguntas sugeridas",
            "El asistente está escribiendo",
            "Equipo",
            "Fuentes",
            "¿No era lo que necesitaba?",
            "¿Le resultó útil?",
            "Útil",
            "No es útil",
            "Reintentar",
            "Copiar",
            "Copiar el código",
            "Copiado",
            "Copiar la respuesta",
            "El sitio aún no le ha identificado.",
            "El asistente no está disponible.",
        ],
        "pt" => [
            "Assistente",
            "Fechar o chat",
            "Conectando…",
            "Conexão perdida. Nova tentativa em {s} s… Suas mensagens serão enviadas então.",
            "Conversa",
            "Falar com uma pessoa",
            "Uma pessoa da equipe responderá aqui. Você pode fechar esta janela e voltar mais tarde.",
            "Sua pergunta",
            "Faça uma pergunta…",
            "Enviar",
            "Perguntas sugeridas",
            "O assistente está digitando",
            "Equipe",
            "Fontes",
            "Não era o que você precisava?",
            "Isso ajudou?",
            "Ajudou",
            "Não ajudou",
            "Tentar de novo",
            "Copiar",
            "Copiar o código",
            "Copiado",
            "Copiar a resposta",
            "O site ainda não identificou você.",
            "O assistente está indisponível.",
        ],
        "ja" => [
            "アシスタント",
            "チャットを閉じる",
            "接続しています…",
            "接続が切れました。{s} 秒後に再接続します… メッセージはその時に送信されます。",
            "会話",
            "担当者と話す",
            "チームの担当者がここで返信します。このウィンドウを閉じて、後で戻ってきても大丈夫です。",
            "ご質問",
            "質問を入力してください…",
            "送信",
            "質問の例",
            "アシスタントが入力中です",
            "チーム",
            "出典",
            "お探しの答えではありませんでしたか？",
            "この回答は役に立ちましたか？",
            "役に立った",
            "役に立たなかった",
            "再試行",
            "コピー",
            "コードをコピー",
            "コピーしました",
            "回答をコピー",
            "サイトがまだあなたを識別していません。",
            "アシスタントを利用できません。",
        ],
        "zh" => [
            "助手",
            "关闭聊天",
            "正在连接…",
            "连接已断开。{s} 秒后重新连接… 届时将发送您的消息。",
            "对话",
            "联系人工客服",
            "团队成员会在这里回复您。您可以关闭此窗口，稍后再回来。",
            "您的问题",
            "请输入问题…",
            "发送",
            "推荐问题",
            "助手正在输入",
            "团队",
            "来源",
            "不是您需要的答案？",
            "这个回答有帮助吗？",
            "有帮助",
            "没有帮助",
            "重试",
            "复制",
            "复制代码",
            "已复制",
            "复制回答",
            "网站尚未识别您的身份。",
            "助手暂时无法使用。",
        ],
        "ar" => [
            "المساعد",
            "إغلاق المحادثة",
            "جارٍ الاتصال…",
            "انقطع الاتصال. إعادة المحاولة خلال {s} ث… سيتم إرسال رسائلك حينها.",
            "المحادثة",
            "التحدث إلى شخص",
            "سيرد عليك أحد أعضاء الفريق هنا. يمكنك إغلاق هذه النافذة والعودة لاحقًا.",
            "سؤالك",
            "اطرح سؤالًا…",
            "إرسال",
            "أسئلة مقترحة",
            "المساعد يكتب",
            "الفريق",
            "المصادر",
            "ليس ما كنت تحتاجه؟",
            "هل كان هذا مفيدًا؟",
            "مفيد",
            "غير مفيد",
            "إعادة المحاولة",
            "نسخ",
            "نسخ الشيفرة",
            "تم النسخ",
            "نسخ الإجابة",
            "لم يتعرّف عليك الموقع بعد.",
            "المساعد غير متاح.",
        ],
        "he" => [
            "עוזר",
            "סגירת הצ'אט",
            "מתחבר…",
            "החיבור אבד. ניסיון חוזר בעוד {s} שניות… ההודעות שלך יישלחו אז.",
            "שיחה",
            "שיחה עם נציג",
            "נציג מהצוות יענה כאן. אפשר לסגור את החלון ולחזור מאוחר יותר.",
            "השאלה שלך",
            "שאלו שאלה…",
            "שליחה",
            "שאלות מוצעות",
            "העוזר מקליד",
            "צוות",
            "מקורות",
            "לא מה שחיפשת?",
            "האם זה עזר?",
            "עזר",
            "לא עזר",
            "ניסיון חוזר",
            "העתקה",
            "העתקת הקוד",
            "הועתק",
            "העתקת התשובה",
            "האתר עדיין לא זיהה אותך.",
            "העוזר אינו זמין.",
        ],
        _ => [
            "Assistant",
            "Close chat",
            "Connecting…",
            "Connection lost. Reconnecting in {s} s… Your messages will be sent then.",
            "Conversation",
            "Talk to a person",
            "A person from the team will answer here. You can close this window and come back later.",
            "Your question",
            "Ask a question…",
            "Send",
            "Suggested questions",
            "The assistant is typing",
            "Team",
            "Sources",
            "Not what you needed?",
            "Was this helpful?",
            "Helpful",
            "Not helpful",
            "Retry",
            "Copy",
            "Copy code",
            "Copied",
            "Copy answer",
            "The site has not identified you yet.",
            "The assistant is unavailable.",
        ],
    };
    let keys = [
        TITLE,
        CLOSE,
        CONNECTING,
        RECONNECTING,
        CONVERSATION,
        TALK,
        HANDED_OFF,
        YOUR_QUESTION,
        PLACEHOLDER,
        SEND,
        SUGGESTED,
        TYPING,
        TEAM,
        SOURCES,
        NOT_WHAT,
        HELPFUL_Q,
        HELPFUL,
        NOT_HELPFUL,
        RETRY,
        COPY,
        COPY_CODE,
        COPIED,
        COPY_ANSWER,
        NOT_IDENTIFIED,
        UNAVAILABLE,
    ];
    let mut out = [("", ""); 25];
    for (i, (k, v)) in keys.iter().zip(t).enumerate() {
        out[i] = (k, v);
    }
    out
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn languages_are_negotiated_by_their_primary_subtag() {
        assert_eq!(negotiate("de-AT"), "de");
        assert_eq!(negotiate("pt_BR"), "pt");
        assert_eq!(negotiate("ZH-Hant-TW"), "zh");
        assert_eq!(negotiate("ar"), "ar");
        assert_eq!(negotiate("tlh"), "en");
        assert_eq!(negotiate(""), "en");
        assert!(is_rtl("ar") && is_rtl("he") && !is_rtl("en"));
    }

    #[test]
    fn every_language_says_everything_and_keeps_the_placeholders() {
        let english = table("en");
        for l in LOCALES {
            let t = table(l);
            for ((k, v), (ek, ev)) in t.iter().zip(english.iter()) {
                assert_eq!(k, ek);
                assert!(!v.trim().is_empty(), "{l}: {k} is empty");
                assert_eq!(v.contains("{s}"), ev.contains("{s}"), "{l}: {k}");
            }
            if l != "en" {
                assert_ne!(t[1].1, english[1].1, "{l} is translated");
            }
        }
    }
}
