package labels_test

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/labels"
)

func ExampleSet_Match() {
	in := labels.ImageNet()
	ids, err := in.Match([]string{"猫", "金毛"}, labels.MatchSubstring)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, i := range ids {
		fmt.Println(i, in.Name(i, "zh"), in.Name(i, "en"))
	}
	_, err = in.Match([]string{"独角兽"}, labels.MatchSubstring)
	fmt.Println(err)
	// Output:
	// 207 金毛寻回犬 golden retriever
	// 281 虎斑猫 tabby
	// 282 狸花猫 tiger cat
	// 283 波斯猫 Persian cat
	// 284 暹罗猫 Siamese cat
	// 285 埃及猫 Egyptian cat
	// 387 小熊猫 lesser panda
	// 388 大熊猫 giant panda
	// labels: no class matches "独角兽" (substring match on Chinese and English names and categories)
}
