//! The SQL vocabulary the tokenizer knows: keywords by role, and function names.
//!
//! The lists are ours, chosen for what an injection needs (breaking out,
//! combining conditions, reading data, waiting, reaching the system), across
//! MySQL, MSSQL, PostgreSQL, Oracle and SQLite.

use std::sync::LazyLock;

use super::lex::Kind;

/// A known word's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    /// `and`, `or`, `xor`.
    Logic,
    /// `not`.
    Not,
    /// `like`, `is`, `in`, `between` …
    Operator,
    /// `union`.
    Union,
    /// `all` (folded into a preceding `union`).
    All,
    /// `distinct` (folded into a preceding `union`).
    Distinct,
    /// `by` (folded into a preceding `order` / `group`).
    By,
    /// `select`.
    Select,
    /// `exec`, `declare`, `waitfor`, `shutdown`.
    Exec,
    /// `insert`, `update`, `delete`, `drop` …
    Stmt,
    /// A clause that opens an expression: `from`, `where`, `case` …
    Clause,
    /// A clause that ends a query: `having`, `limit`, `into`, `procedure` …
    Tail,
    /// `true`, `false`, `null`.
    Literal,
    /// A function that reveals the system or waits, called with no arguments:
    /// `version()`, `database()`, `user()`.
    Probe,
    /// A function only an attack calls: `sleep`, `benchmark`, `load_file` …
    Danger,
    /// Another SQL function.
    Function,
}

impl Word {
    /// The token kind of the word, knowing whether a `(` follows it.
    pub(crate) fn kind(self, called: bool) -> Kind {
        match self {
            Word::Logic => Kind::Logic,
            Word::Not | Word::Operator => Kind::WordOp,
            Word::Union => Kind::Union,
            Word::All | Word::Distinct | Word::By => Kind::Ident,
            Word::Select => Kind::Select,
            Word::Exec => Kind::Exec,
            Word::Stmt if called => Kind::Func,
            Word::Stmt => Kind::Stmt,
            Word::Clause => Kind::Clause,
            Word::Tail => Kind::Tail,
            Word::Literal => Kind::Num,
            Word::Probe | Word::Danger | Word::Function if called => Kind::Func,
            Word::Probe | Word::Danger | Word::Function => Kind::Ident,
        }
    }

    /// Whether digits run into this word are read as a number then the word
    /// (`1union`, `1or`), as MySQL does.
    pub(crate) fn splits_number(self) -> bool {
        matches!(
            self,
            Word::Logic
                | Word::Not
                | Word::Operator
                | Word::Union
                | Word::Select
                | Word::Clause
                | Word::Tail
        )
    }
}

/// The role of `text` (any case), if it is a known word.
pub(crate) fn classify(text: &str) -> Option<Word> {
    let mut buf = [0u8; 32];
    let b = text.as_bytes();
    if b.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..b.len()];
    lower.copy_from_slice(b);
    lower.make_ascii_lowercase();
    let slot = &INDEX[hash(lower) as usize % INDEX_SLOTS];
    slot.iter()
        .map(|&i| VOCABULARY[usize::from(i)])
        .find(|(w, _)| *w == &*lower)
        .map(|(_, kind)| kind)
}

/// Buckets of the vocabulary's hash index (a power of two, well above its size).
const INDEX_SLOTS: usize = 512;

/// FNV-1a: a few instructions a byte; the words are short.
fn hash(b: &[u8]) -> u32 {
    b.iter().fold(0x811c_9dc5_u32, |h, &c| {
        (h ^ u32::from(c)).wrapping_mul(0x0100_0193)
    })
}

/// The vocabulary's positions by hash bucket: one bucket lookup and usually
/// one comparison per word, where a search over every keyword would compare many.
static INDEX: LazyLock<Vec<Vec<u16>>> = LazyLock::new(|| {
    let mut index = vec![Vec::new(); INDEX_SLOTS];
    for (i, (w, _)) in VOCABULARY.iter().enumerate() {
        if let Ok(i) = u16::try_from(i) {
            index[hash(w) as usize % INDEX_SLOTS].push(i);
        }
    }
    index
});

/// Builds the index.
pub(crate) fn warm() {
    LazyLock::force(&INDEX);
}

/// Every known word, lowercase, sorted by bytes (sorted to keep it readable
/// and free of duplicates).
static VOCABULARY: &[(&[u8], Word)] = &[
    (b"@@version", Word::Probe),
    (b"aes_decrypt", Word::Function),
    (b"aes_encrypt", Word::Function),
    (b"all", Word::All),
    (b"alter", Word::Stmt),
    (b"analyse", Word::Function),
    (b"and", Word::Logic),
    (b"as", Word::Clause),
    (b"asc", Word::Clause),
    (b"ascii", Word::Function),
    (b"avg", Word::Function),
    (b"benchmark", Word::Danger),
    (b"between", Word::Operator),
    (b"bin", Word::Function),
    (b"binary", Word::Not),
    (b"by", Word::By),
    (b"case", Word::Clause),
    (b"cast", Word::Function),
    (b"ceil", Word::Function),
    (b"char", Word::Function),
    (b"char_length", Word::Function),
    (b"chr", Word::Function),
    (b"coalesce", Word::Function),
    (b"col_name", Word::Function),
    (b"collate", Word::Operator),
    (b"compress", Word::Function),
    (b"concat", Word::Function),
    (b"concat_ws", Word::Function),
    (b"connection_id", Word::Probe),
    (b"conv", Word::Function),
    (b"convert", Word::Function),
    (b"copy", Word::Stmt),
    (b"count", Word::Function),
    (b"create", Word::Stmt),
    (b"ctxsys.drithsx.sn", Word::Danger),
    (b"current_database", Word::Probe),
    (b"current_user", Word::Probe),
    (b"database", Word::Probe),
    (b"db_name", Word::Probe),
    (b"dbms_lock.sleep", Word::Danger),
    (b"dbms_pipe.receive_message", Word::Danger),
    (b"dbms_xmlgen.getxml", Word::Danger),
    (b"declare", Word::Exec),
    (b"decode", Word::Function),
    (b"delete", Word::Stmt),
    (b"desc", Word::Clause),
    (b"distinct", Word::Distinct),
    (b"div", Word::Operator),
    (b"drop", Word::Stmt),
    (b"dumpfile", Word::Clause),
    (b"else", Word::Clause),
    (b"elt", Word::Function),
    (b"encode", Word::Function),
    (b"end", Word::Clause),
    (b"escape", Word::Operator),
    (b"except", Word::Union),
    (b"exec", Word::Exec),
    (b"execute", Word::Exec),
    (b"exists", Word::Function),
    (b"exp", Word::Danger),
    (b"export_set", Word::Function),
    (b"extractvalue", Word::Danger),
    (b"false", Word::Literal),
    (b"fetch", Word::Tail),
    (b"floor", Word::Function),
    (b"from", Word::Clause),
    (b"geometrycollection", Word::Danger),
    (b"glob", Word::Operator),
    (b"grant", Word::Stmt),
    (b"group_concat", Word::Function),
    (b"gtid_subset", Word::Danger),
    (b"having", Word::Tail),
    (b"hex", Word::Function),
    (b"host_name", Word::Probe),
    (b"if", Word::Function),
    (b"ifnull", Word::Function),
    (b"iif", Word::Function),
    (b"ilike", Word::Operator),
    (b"in", Word::Operator),
    (b"insert", Word::Stmt),
    (b"instr", Word::Function),
    (b"intersect", Word::Union),
    (b"into", Word::Tail),
    (b"is", Word::Operator),
    (b"is_srvrolemember", Word::Danger),
    (b"isnull", Word::Function),
    (b"join", Word::Clause),
    (b"json_extract", Word::Function),
    (b"json_keys", Word::Danger),
    (b"last_insert_id", Word::Probe),
    (b"left", Word::Function),
    (b"len", Word::Function),
    (b"length", Word::Function),
    (b"like", Word::Operator),
    (b"limit", Word::Tail),
    (b"linestring", Word::Danger),
    (b"lo_import", Word::Danger),
    (b"load_file", Word::Danger),
    (b"locate", Word::Function),
    (b"lower", Word::Function),
    (b"lpad", Word::Function),
    (b"make_set", Word::Function),
    (b"max", Word::Function),
    (b"md5", Word::Function),
    (b"merge", Word::Stmt),
    (b"mid", Word::Function),
    (b"min", Word::Function),
    (b"minus", Word::Union),
    (b"mod", Word::Operator),
    (b"multilinestring", Word::Danger),
    (b"multipoint", Word::Danger),
    (b"multipolygon", Word::Danger),
    (b"name_const", Word::Danger),
    (b"nchar", Word::Function),
    (b"not", Word::Not),
    (b"null", Word::Literal),
    (b"nullif", Word::Function),
    (b"nvl", Word::Function),
    (b"object_id", Word::Function),
    (b"object_name", Word::Function),
    (b"offset", Word::Tail),
    (b"or", Word::Logic),
    (b"ord", Word::Function),
    (b"outfile", Word::Clause),
    (b"pg_read_file", Word::Danger),
    (b"pg_sleep", Word::Danger),
    (b"polygon", Word::Danger),
    (b"position", Word::Function),
    (b"procedure", Word::Tail),
    (b"quote", Word::Function),
    (b"rand", Word::Function),
    (b"randomblob", Word::Danger),
    (b"regexp", Word::Operator),
    (b"rename", Word::Stmt),
    (b"replace", Word::Stmt),
    (b"reverse", Word::Function),
    (b"revoke", Word::Stmt),
    (b"right", Word::Function),
    (b"rlike", Word::Operator),
    (b"row", Word::Function),
    (b"rpad", Word::Function),
    (b"schema", Word::Probe),
    (b"select", Word::Select),
    (b"session_user", Word::Probe),
    (b"sha1", Word::Function),
    (b"shutdown", Word::Exec),
    (b"similar", Word::Operator),
    (b"sleep", Word::Danger),
    (b"sounds", Word::Operator),
    (b"sqlite_version", Word::Probe),
    (b"strcmp", Word::Function),
    (b"string_agg", Word::Function),
    (b"substr", Word::Function),
    (b"substring", Word::Function),
    (b"sum", Word::Function),
    (b"suser_name", Word::Probe),
    (b"sys.fn_varbintohexstr", Word::Danger),
    (b"sys_context", Word::Function),
    (b"system_user", Word::Probe),
    (b"table", Word::Clause),
    (b"then", Word::Clause),
    (b"to_char", Word::Function),
    (b"to_number", Word::Function),
    (b"true", Word::Literal),
    (b"truncate", Word::Stmt),
    (b"uncompress", Word::Function),
    (b"unhex", Word::Function),
    (b"unicode", Word::Function),
    (b"union", Word::Union),
    (b"update", Word::Stmt),
    (b"updatexml", Word::Danger),
    (b"upper", Word::Function),
    (b"user", Word::Probe),
    (b"user_name", Word::Probe),
    (b"utl_http.request", Word::Danger),
    (b"utl_inaddr.get_host_address", Word::Danger),
    (b"utl_inaddr.get_host_name", Word::Danger),
    (b"values", Word::Clause),
    (b"version", Word::Probe),
    (b"waitfor", Word::Exec),
    (b"when", Word::Clause),
    (b"where", Word::Clause),
    (b"xmltype", Word::Function),
    (b"xor", Word::Logic),
    (b"xp_cmdshell", Word::Danger),
    (b"xp_dirtree", Word::Danger),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_is_sorted_and_lowercase() {
        assert!(VOCABULARY.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            VOCABULARY
                .iter()
                .all(|(w, _)| !w.iter().any(u8::is_ascii_uppercase))
        );
        assert_eq!(classify("UNION"), Some(Word::Union));
        assert_eq!(classify("Sleep"), Some(Word::Danger));
        assert_eq!(classify("shoes"), None);
    }
}
