import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

export interface ClipTokenizer {
  maxLength: number;
  /** Ids padded (or truncated, keeping the end token) to maxLength, as CLIP text encoders expect. */
  encode(text: string): Int32Array;
}

/**
 * Loads a CLIP tokenizer folder. Diffusers/Optimum exports ship vocab.json + merges.txt (often without a
 * tokenizer.json), so the tokenizer.json CLIP's fast tokenizer would use is assembled from them here.
 */
export async function loadClipTokenizer(dir: string): Promise<ClipTokenizer> {
  const readJson = async (name: string) => JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Record<string, unknown>;
  const config = await readJson('tokenizer_config.json').catch(() => ({}) as Record<string, unknown>);
  const tokenName = (value: unknown, fallback: string) =>
    typeof value === 'string' ? value : (value as { content?: string } | undefined)?.content ?? fallback;
  const bos = tokenName(config.bos_token, '<|startoftext|>');
  const eos = tokenName(config.eos_token, '<|endoftext|>');
  const pad = tokenName(config.pad_token, eos);
  const maxLength = Math.min(Number(config.model_max_length) || 77, 77);

  let tokenizerJson: Record<string, unknown>;
  try {
    tokenizerJson = await readJson('tokenizer.json');
  } catch {
    const vocab = (await readJson('vocab.json')) as Record<string, number>;
    const merges = (await readFile(path.join(dir, 'merges.txt'), 'utf8'))
      .split('\n')
      .filter((line) => line && !line.startsWith('#version'));
    const special = (content: string) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    tokenizerJson = {
      added_tokens: [special(bos), special(eos)],
      normalizer: {
        type: 'Sequence',
        normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
      },
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          {
            type: 'Split',
            pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
            behavior: 'Removed',
            invert: true,
          },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      },
      post_processor: { type: 'RobertaProcessing', sep: [eos, vocab[eos]], cls: [bos, vocab[bos]], trim_offsets: false, add_prefix_space: false },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: eos,
        continuing_subword_prefix: '',
        end_of_word_suffix: '</w>',
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges,
      },
    };
  }
  const tokenizer = new Tokenizer(tokenizerJson, config);
  const padId = tokenizer.token_to_id(pad) ?? 0;
  const eosId = tokenizer.token_to_id(eos) ?? padId;
  return {
    maxLength,
    encode(text) {
      const ids = tokenizer.encode(text).ids.slice(0, maxLength);
      if (ids.length === maxLength) ids[maxLength - 1] = eosId;
      const out = new Int32Array(maxLength).fill(padId);
      out.set(ids);
      return out;
    },
  };
}
